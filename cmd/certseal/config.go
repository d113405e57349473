package main

import (
	"errors"
	"flag"
	"io"
	"os"

	"certseal/internal/app"
)

var errUsage = errors.New("usage")

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

func newFlags(name string, stderr io.Writer, c *app.Config) *flag.FlagSet {
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
