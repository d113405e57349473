package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"certseal/cmd/app"
	"certseal/seals"
)

var errUsage = errors.New("usage")

// publicURLEnv names the environment variable with the public base URL that verification links
// (and QR codes) point at, e.g. https://zwfw.cngy.gov.cn; by default http://<addr>.
const publicURLEnv = "CERTSEAL_PUBLIC_URL"

// fromEnv fills the parts of c that only the environment sets, for every command: the public
// URL, the master key (else the key file DATA/master.key) and the garbage collector (DefaultGC
// for each setting that GOGC or GOMEMLIMIT does not set: the runtime has read those).
func fromEnv(c *app.Config) {
	c.PublicURL = os.Getenv(publicURLEnv)
	c.MasterKey = os.Getenv(seals.MasterKeyEnv)
	c.GC = app.GCFor(os.Getenv("GOGC"), os.Getenv("GOMEMLIMIT"))
}

// newFlags returns the flag set of the named command with the flags every command has, and
// fills c from the environment (fromEnv).
func newFlags(name string, stderr io.Writer, c *app.Config) *flag.FlagSet {
	fromEnv(c)
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&c.Data, "data", "./data", "data directory")
	fs.String("config", "", "config file (YAML: one key per setting, named as its flag without the dash); flags and the environment override it")
	return fs
}

// parse parses the command line and then the environment and the config file (parseLayered).
func parse(fs *flag.FlagSet, args []string) error {
	return parseLayered(fs, args, os.Getenv)
}

// parseArgs parses the command line alone.
func parseArgs(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		return errUsage
	}
	return nil
}

// Settings come from four places, later ones winning: the flag's default, the config file
// (-config FILE or CERTSEAL_CONFIG: YAML, one key per flag, named as the flag without its dash),
// the environment (CERTSEAL_ and the flag's name in capitals with "-" as "_", e.g.
// CERTSEAL_TLS_CERT for -tls-cert), and the command line. envName and the file keys are derived
// from the flag names, so a flag added anywhere gets its variable and its key, and the README's
// list (settingsTable) is made from the same flag set.

// configEnv names the environment variable with the config file's path (as -config).
const configEnv = "CERTSEAL_CONFIG"

// maxConfigFile bounds the config file.
const maxConfigFile = 1 << 20

// envName returns the environment variable of a flag: CERTSEAL_ + NAME with "-" as "_".
func envName(flagName string) string {
	return "CERTSEAL_" + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

// parseLayered parses args into fs, then fills every flag not given on the command line from
// its environment variable, else from the config file (the -config flag, which fs must have,
// or CERTSEAL_CONFIG). It returns errUsage for bad arguments, and an error naming the file,
// the key or the variable for a config file that cannot be read or parsed, an unknown key, or a
// value a flag refuses.
func parseLayered(fs *flag.FlagSet, args []string, getenv func(string) string) error {
	if err := parseArgs(fs, args); err != nil {
		return err
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	path := getenv(configEnv)
	if f := fs.Lookup("config"); f != nil && set["config"] {
		path = f.Value.String()
	}
	var file map[string]string
	if path != "" {
		raw, err := readLimited(path, maxConfigFile)
		if err != nil {
			return fmt.Errorf("config file: %w", err)
		}
		file, err = parseConfigFile(raw)
		if err != nil {
			return fmt.Errorf("config file %s: %w", path, err)
		}
		known, _ := serveFlags(io.Discard, &app.Config{})
		for k := range file {
			if known.Lookup(k) == nil && fs.Lookup(k) == nil || k == "config" {
				return fmt.Errorf("config file %s: unknown setting %q (the settings are the flags of `certseal serve -h`, without the dash)", path, k)
			}
		}
	}
	var err error
	fs.VisitAll(func(f *flag.Flag) {
		if err != nil || set[f.Name] || f.Name == "config" {
			return
		}
		if v := getenv(envName(f.Name)); v != "" {
			if e := fs.Set(f.Name, v); e != nil {
				err = fmt.Errorf("%s=%q: %v", envName(f.Name), v, e)
			}
			return
		}
		if v, ok := file[f.Name]; ok {
			if e := fs.Set(f.Name, v); e != nil {
				err = fmt.Errorf("config file %s: %s: %q: %v", path, f.Name, v, e)
			}
		}
	})
	return err
}

// readLimited reads a file of at most max bytes.
func readLimited(path string, max int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	raw, err := io.ReadAll(io.LimitReader(f, max+1))
	if err != nil {
		return nil, err
	}
	if int64(len(raw)) > max {
		return nil, fmt.Errorf("%s 超过 %d 字节的上限", path, max)
	}
	return raw, nil
}

// parseConfigFile parses a config file: a YAML mapping of setting names to scalars (strings,
// numbers, booleans; a list is joined with commas, for -push-allow and -metrics-allow). It
// returns an error for anything else: nested mappings, aliases, more than one document.
func parseConfigFile(raw []byte) (map[string]string, error) {
	var doc yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(raw))
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return map[string]string{}, nil
		}
		return nil, err
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		return nil, errors.New("more than one YAML document")
	}
	if len(doc.Content) == 0 {
		return map[string]string{}, nil
	}
	m := doc.Content[0]
	if m.Kind != yaml.MappingNode {
		return nil, errors.New("want a mapping of setting names to values")
	}
	out := map[string]string{}
	for i := 0; i+1 < len(m.Content); i += 2 {
		k, v := m.Content[i], m.Content[i+1]
		if k.Kind != yaml.ScalarNode {
			return nil, fmt.Errorf("line %d: a setting name must be a plain word", k.Line)
		}
		if _, dup := out[k.Value]; dup {
			return nil, fmt.Errorf("line %d: %s given twice", k.Line, k.Value)
		}
		switch v.Kind {
		case yaml.ScalarNode:
			out[k.Value] = v.Value
		case yaml.SequenceNode:
			var parts []string
			for _, e := range v.Content {
				if e.Kind != yaml.ScalarNode {
					return nil, fmt.Errorf("line %d: %s: a list of plain values only", e.Line, k.Value)
				}
				parts = append(parts, e.Value)
			}
			out[k.Value] = strings.Join(parts, ",")
		default:
			return nil, fmt.Errorf("line %d: %s: want a plain value", v.Line, k.Value)
		}
	}
	return out, nil
}

// settingsTable writes the Markdown table of the serve settings: every flag of fs with its
// environment variable, config file key, default and meaning, then the settings only the
// environment gives.
func settingsTable(w io.Writer, fs *flag.FlagSet) {
	fmt.Fprintln(w, "| flag | environment | config file key | default | meaning |")
	fmt.Fprintln(w, "|---|---|---|---|---|")
	fs.VisitAll(func(f *flag.Flag) {
		env, key := "`"+envName(f.Name)+"`", "`"+f.Name+"`"
		if f.Name == "config" {
			env, key = "`"+configEnv+"`", "—"
		}
		def := "—"
		if f.DefValue != "" {
			def = "`" + f.DefValue + "`"
		}
		fmt.Fprintf(w, "| `-%s` | %s | %s | %s | %s |\n", f.Name, env, key, def, strings.ReplaceAll(f.Usage, "|", "\\|"))
	})
	for _, e := range envOnly {
		fmt.Fprintf(w, "| — | `%s` | — | — | %s |\n", e.name, e.usage)
	}
}

// envOnly are the settings read from the environment only (secrets stay out of flags, which
// other users see in the process list, and out of the config file).
var envOnly = []struct{ name, usage string }{
	{"CERTSEAL_MASTER_KEY", "the master key, 64 hexadecimal digits or base64 of 32 bytes; without it the key file DATA/master.key"},
	{"CERTSEAL_P12_PASSWORD", "the password of the PKCS#12 file of `certseal ca import -p12`"},
	{"CERTSEAL_ETCD_USER, CERTSEAL_ETCD_PASSWORD", "the etcd user and password of a cluster node (-store etcd)"},
	{"CERTSEAL_S3_ACCESS_KEY, CERTSEAL_S3_SECRET_KEY", "the object store's access key and secret (-s3-endpoint)"},
	{"GOGC, GOMEMLIMIT", "the Go garbage collector; unset, certseal uses GOGC=400 and a soft limit of 1 GiB"},
}

// tsaConfig reads the external TSA's CA file and the timeout into c. It returns an error for a
// file that cannot be read and a timeout that is not a positive duration of at most a minute.
func tsaConfig(c *app.Config, caFile, timeout string) error {
	if caFile != "" {
		b, err := os.ReadFile(caFile)
		if err != nil {
			return fmt.Errorf("tsa-ca: %w", err)
		}
		c.TSACA = b
	}
	d, err := time.ParseDuration(timeout)
	if err != nil || d <= 0 || d > time.Minute {
		return fmt.Errorf("tsa-timeout %q: want a duration between 1ms and 1m, e.g. 5s", timeout)
	}
	c.TSATimeout = d
	return nil
}
