// Command certseal runs the certseal service and its maintenance commands.
//
//	certseal serve [-addr 127.0.0.1:8080] [-data ./data] [-demo] [-full-check]
//	certseal init [-data ./data]
//	certseal backup [-data ./data] FILE
//	certseal audit verify [-data ./data]
//	certseal check [-data ./data]
//	certseal restore BACKUP -data DIR
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	code := Main(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// Main runs the command line args and returns the exit code. Tests call it directly.
func Main(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		usage(stderr)
		return 2
	}
	var err error
	switch args[0] {
	case "serve":
		err = cmdServe(ctx, args[1:], stdout, stderr)
	case "init":
		err = cmdInit(ctx, args[1:], stdout, stderr)
	case "backup":
		err = cmdBackup(ctx, args[1:], stdout, stderr)
	case "restore":
		err = cmdRestore(ctx, args[1:], stdout, stderr)
	case "audit":
		err = cmdAudit(ctx, args[1:], stdout, stderr)
	case "check":
		err = cmdCheck(ctx, args[1:], stdout, stderr)
	case "migrate":
		err = cmdMigrate(ctx, args[1:], stdout, stderr)
	case "ca":
		err = cmdCA(ctx, args[1:], stdout, stderr)
	case "eseal":
		err = cmdESeal(ctx, args[1:], stdout, stderr)
	case "help", "-h", "-help", "--help":
		usage(stdout)
		return 0
	default:
		fmt.Fprintf(stderr, "certseal: unknown command %q\n", args[0])
		usage(stderr)
		return 2
	}
	if err != nil {
		if err == errUsage {
			return 2
		}
		fmt.Fprintf(stderr, "certseal %s: %v\n", args[0], err)
		return 1
	}
	return 0
}

func usage(w io.Writer) {
	fmt.Fprint(w, `usage: certseal <command> [flags]

commands:
  serve          run the HTTP service (-addr, -data, -demo, -push-allow LIST, -full-check: read and
                 check the whole database file first; the quick check of its structure always runs)
  init           create the database, the city center and its administrator; print the admin token
  backup FILE    write one consistent archive (tar) of the database and its documents to FILE
  audit verify   recompute the audit log's hash chain and name the first broken event
  ca import      import the city center's root CA from PEM (-cert, -key) or PKCS#12 (-p12, password
                 in env CERTSEAL_P12_PASSWORD) before any seal exists; init creates one otherwise;
                 with -sm2 the SM2 root CA (-cert, -key PEM) before any SM2 seal exists
  eseal verify   check a GB/T 38540 SES_Signature (or a bare SESeal) FILE against this database's
                 SM2 CA and seals (-doc FILE or -sm3 HEX: the signed data); exit 1 unless valid
  restore BACKUP verify a backup and restore it into an empty data directory (-data); refuses
                 a directory that holds anything
  check          check a stopped database: the file itself (every page and value), the audit chain,
                 the blank-form ledger's books, that every certificate has its used blank serial and
                 every used serial its certificate, that every stored PDF matches its SHA-256, and
                 which document files no certificate refers to (orphans); with -store etcd and
                 the -etcd-/-s3- flags the same checks on a cluster, and that its members agree
  migrate --to etcd  copy a stopped installation (-data) into an empty etcd prefix and object
                 store (-etcd-endpoints, -s3-endpoint, ...; docs/cluster.md); resumable

serve also takes -tls-cert/-tls-key (HTTPS, reloaded on SIGHUP), -redirect-http ADDR,
-metrics-allow LIST, -log-level, -backup-dir/-backup-every/-backup-keep; every flag of every
command is also a key of the -config FILE (YAML) and a variable CERTSEAL_<FLAG> (see README).

environment: CERTSEAL_ADDR, CERTSEAL_DATA, CERTSEAL_MASTER_KEY (else DATA/master.key),
CERTSEAL_PUBLIC_URL (the address verification links and QR codes point at),
CERTSEAL_PUSH_ALLOW (as serve -push-allow: the private networks and hosts webhooks may reach,
comma-separated CIDR ranges, addresses or host names, *.example.gov.cn for every name under it;
by default webhooks reach public addresses only), CERTSEAL_FULL_CHECK=1 (serve -full-check)
`)
}
