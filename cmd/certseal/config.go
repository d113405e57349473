package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"certseal/cmd/app"
	"certseal/seals"
)

var errUsage = errors.New("usage")

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

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
	fs.StringVar(&c.Data, "data", envOr("CERTSEAL_DATA", "./data"), "data directory (env CERTSEAL_DATA)")
	return fs
}

func parse(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		return errUsage
	}
	return nil
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
