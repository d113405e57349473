package main

import (
	"crypto/tls"
	"crypto/x509"
	"flag"
	"fmt"
	"os"
	"strconv"
	"strings"

	"certseal/cmd/app"
)

// clusterFlags adds to fs the flags that make a node of a cluster (docs/cluster.md): the engine,
// the etcd cluster and the object store. Secrets come from the environment only. The returned
// function completes c after parsing (TLS files read, lists split).
func clusterFlags(fs *flag.FlagSet, c *app.Config) func() error {
	fs.StringVar(&c.Store, "store", envOr("CERTSEAL_STORE", "bbolt"), "database engine: bbolt (one node, the file in -data) or etcd (a cluster; env CERTSEAL_STORE)")
	endpoints := fs.String("etcd-endpoints", os.Getenv("CERTSEAL_ETCD_ENDPOINTS"), "etcd client URLs, comma-separated (env CERTSEAL_ETCD_ENDPOINTS)")
	fs.StringVar(&c.Etcd.Prefix, "etcd-prefix", envOr("CERTSEAL_ETCD_PREFIX", "certseal/"), "prefix of certseal's keys in etcd (env CERTSEAL_ETCD_PREFIX)")
	ca := fs.String("etcd-ca", os.Getenv("CERTSEAL_ETCD_CA"), "PEM file of the CA of etcd's client certificates (env CERTSEAL_ETCD_CA)")
	cert := fs.String("etcd-cert", os.Getenv("CERTSEAL_ETCD_CERT"), "PEM file of this node's etcd client certificate (env CERTSEAL_ETCD_CERT)")
	key := fs.String("etcd-key", os.Getenv("CERTSEAL_ETCD_KEY"), "PEM file of its key (env CERTSEAL_ETCD_KEY)")
	maxOps := fs.Int("etcd-max-txn-ops", envInt("CERTSEAL_ETCD_MAX_TXN_OPS", 128), "the cluster's --max-txn-ops (env CERTSEAL_ETCD_MAX_TXN_OPS)")
	fs.StringVar(&c.S3.Endpoint, "s3-endpoint", os.Getenv("CERTSEAL_S3_ENDPOINT"), "object store host:port for the documents (env CERTSEAL_S3_ENDPOINT; empty: files in -data)")
	fs.StringVar(&c.S3.Bucket, "s3-bucket", envOr("CERTSEAL_S3_BUCKET", "certseal"), "object store bucket (env CERTSEAL_S3_BUCKET)")
	fs.StringVar(&c.S3.Region, "s3-region", os.Getenv("CERTSEAL_S3_REGION"), "object store region (env CERTSEAL_S3_REGION)")
	fs.BoolVar(&c.S3.Secure, "s3-https", os.Getenv("CERTSEAL_S3_HTTPS") == "1", "reach the object store over HTTPS (env CERTSEAL_S3_HTTPS=1)")
	return func() error {
		c.Etcd.Username, c.Etcd.Password = os.Getenv("CERTSEAL_ETCD_USER"), os.Getenv("CERTSEAL_ETCD_PASSWORD")
		c.S3.AccessKey, c.S3.SecretKey = os.Getenv("CERTSEAL_S3_ACCESS_KEY"), os.Getenv("CERTSEAL_S3_SECRET_KEY")
		c.Etcd.MaxTxnOps = *maxOps
		for _, e := range strings.Split(*endpoints, ",") {
			if e = strings.TrimSpace(e); e != "" {
				c.Etcd.Endpoints = append(c.Etcd.Endpoints, e)
			}
		}
		switch c.Store {
		case "bbolt":
			if len(c.Etcd.Endpoints) > 0 {
				return fmt.Errorf("-etcd-endpoints is set but -store is bbolt: add -store etcd")
			}
			return nil
		case "etcd":
			if len(c.Etcd.Endpoints) == 0 {
				return fmt.Errorf("-store etcd needs -etcd-endpoints")
			}
		default:
			return fmt.Errorf("-store %q: bbolt or etcd", c.Store)
		}
		if *ca != "" || *cert != "" {
			t, err := etcdTLS(*ca, *cert, *key)
			if err != nil {
				return err
			}
			c.Etcd.TLS = t
		}
		return nil
	}
}

func envInt(name string, def int) int {
	if n, err := strconv.Atoi(os.Getenv(name)); err == nil {
		return n
	}
	return def
}

// etcdTLS is the client TLS configuration from PEM files: the CA that signed etcd's
// certificates, and this node's client certificate and key (both optional).
func etcdTLS(caFile, certFile, keyFile string) (*tls.Config, error) {
	t := &tls.Config{MinVersion: tls.VersionTLS12}
	if caFile != "" {
		pem, err := os.ReadFile(caFile)
		if err != nil {
			return nil, fmt.Errorf("-etcd-ca: %w", err)
		}
		t.RootCAs = x509.NewCertPool()
		if !t.RootCAs.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("-etcd-ca %s: no PEM certificate", caFile)
		}
	}
	if certFile != "" {
		kp, err := tls.LoadX509KeyPair(certFile, keyFile)
		if err != nil {
			return nil, fmt.Errorf("-etcd-cert: %w", err)
		}
		t.Certificates = []tls.Certificate{kp}
	}
	return t, nil
}
