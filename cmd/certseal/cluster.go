package main

import (
	"crypto/tls"
	"crypto/x509"
	"flag"
	"fmt"
	"os"
	"strings"

	"certseal/cmd/app"
)

// clusterFlags adds to fs the flags that make a node of a cluster (docs/cluster.md): the engine,
// the etcd cluster and the object store. Secrets come from the environment only. The returned
// function completes c after parsing (TLS files read, lists split).
func clusterFlags(fs *flag.FlagSet, c *app.Config) func() error {
	fs.StringVar(&c.Store, "store", "bbolt", "database engine: bbolt (one node, the file in -data) or etcd (a cluster, docs/cluster.md)")
	return etcdS3Flags(fs, c)
}

// etcdS3Flags adds the flags naming the etcd cluster and the object store (clusterFlags without
// -store: migrate's target); the returned function completes c for c.Store.
func etcdS3Flags(fs *flag.FlagSet, c *app.Config) func() error {
	endpoints := fs.String("etcd-endpoints", "", "etcd client URLs, comma-separated")
	fs.StringVar(&c.Etcd.Prefix, "etcd-prefix", "certseal/", "prefix of certseal's keys in etcd")
	ca := fs.String("etcd-ca", "", "PEM file of the CA of etcd's client certificates")
	cert := fs.String("etcd-cert", "", "PEM file of this node's etcd client certificate")
	key := fs.String("etcd-key", "", "PEM file of its key")
	maxOps := fs.Int("etcd-max-txn-ops", 128, "the cluster's --max-txn-ops")
	fs.StringVar(&c.S3.Endpoint, "s3-endpoint", "", "object store host:port for the documents (empty: files in -data)")
	fs.StringVar(&c.S3.Bucket, "s3-bucket", "certseal", "object store bucket")
	fs.StringVar(&c.S3.Prefix, "s3-prefix", "documents/", "prefix of the documents' object names in the bucket (several clusters may share one bucket)")
	fs.StringVar(&c.S3.Region, "s3-region", "", "object store region")
	fs.BoolVar(&c.S3.Secure, "s3-https", false, "reach the object store over HTTPS")
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
