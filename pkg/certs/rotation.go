package certs

import (
	"bytes"
	"crypto/x509"
	"errors"
	"fmt"
	"maps"
	"net"
	"slices"
	"time"
)

// Keys of the Secret that holds the pair. The Secret has type kubernetes.io/tls, so
// tls.crt and tls.key are the serving certificate, as a mounted cert-manager Secret would be.
const (
	// KeyTLSCert is the serving certificate.
	KeyTLSCert = "tls.crt"
	// KeyTLSKey is the serving certificate's key.
	KeyTLSKey = "tls.key"
	// KeyCABundle is every CA the API server must trust: the caBundle.
	KeyCABundle = "ca.crt"
	// KeySignerCert is the CA that signs serving certificates.
	KeySignerCert = "ca-signer.crt"
	// KeySignerKey is the signing CA's key.
	KeySignerKey = "ca-signer.key"
	// KeyNextCert is the CA that will replace the signer, present during the overlap.
	KeyNextCert = "ca-next.crt"
	// KeyNextKey is the next CA's key.
	KeyNextKey = "ca-next.key"
)

// backdate is how far before "now" certificates start, so that a clock that runs a
// little behind ours (the API server's) already accepts them.
const backdate = time.Hour

// Policy says how long certificates live and when they are replaced.
type Policy struct {
	// Hosts are the DNS names and IP addresses of the serving certificate.
	Hosts []string
	// CAValidity is how long a CA lives.
	CAValidity time.Duration
	// LeafValidity is how long a serving certificate lives (never beyond its CA).
	LeafValidity time.Duration
	// RenewBefore is how long before expiry a certificate is replaced.
	RenewBefore time.Duration
	// Overlap is how long the next CA is trusted (in the caBundle) before it signs the
	// serving certificate: the time every API server and replica has to see the new
	// caBundle.
	Overlap time.Duration
}

// DefaultPolicy is a CA of one year, serving certificates of 150 days, both replaced 15
// days before they expire, and one day of overlap.
func DefaultPolicy(hosts []string) Policy {
	const day = 24 * time.Hour
	return Policy{Hosts: hosts, CAValidity: 365 * day, LeafValidity: 150 * day, RenewBefore: 15 * day, Overlap: day}
}

// Validate checks that the durations make a rotation without a gap.
func (p Policy) Validate() error {
	switch {
	case len(p.Hosts) == 0:
		return errors.New("certificate policy: no hosts")
	case p.Overlap <= 0 || p.RenewBefore <= p.Overlap:
		return fmt.Errorf("certificate policy: renewBefore (%s) must exceed overlap (%s), which must be positive", p.RenewBefore, p.Overlap)
	case p.LeafValidity <= p.RenewBefore || p.CAValidity < p.LeafValidity:
		return fmt.Errorf("certificate policy: need renewBefore (%s) < leaf validity (%s) <= CA validity (%s)", p.RenewBefore, p.LeafValidity, p.CAValidity)
	}
	return nil
}

// Next returns the Secret data that should be stored at now, given the current data
// (nil or empty for none), and whether it differs. In order:
//   - without a usable signing CA, everything is created afresh;
//   - RenewBefore ahead of the signer's expiry, a next CA is created and added to the
//     caBundle, while the serving certificate stays signed by the old CA;
//   - Overlap after that, the next CA becomes the signer and signs a new serving
//     certificate, while the caBundle still trusts the old CA until it expires;
//   - the serving certificate is renewed RenewBefore ahead of its expiry (unless a CA
//     switch is pending, which renews it anyway), or at once when it is unusable, not
//     signed by the signer or not for Policy.Hosts.
//
// So at every moment the served certificate is trusted by both the caBundle stored now
// and the one stored before, and no request fails while replicas and API servers catch up.
// An invalid Policy is an error.
func Next(now time.Time, data map[string][]byte, p Policy) (map[string][]byte, bool, error) {
	if err := p.Validate(); err != nil {
		return nil, false, err
	}
	signer, _ := ParseKeyPair(data[KeySignerCert], data[KeySignerKey])
	if signer != nil && !now.Before(signer.Cert.NotAfter) {
		signer = nil
	}
	next, _ := ParseKeyPair(data[KeyNextCert], data[KeyNextKey])
	forceLeaf := false
	var err error
	switch {
	case signer == nil:
		if signer, err = newCA(now, p); err != nil {
			return nil, false, err
		}
		next, forceLeaf = nil, true
	case next == nil && !now.Before(signer.Cert.NotAfter.Add(-p.RenewBefore)):
		if next, err = newCA(now, p); err != nil {
			return nil, false, err
		}
	case next != nil && !now.Before(next.Cert.NotBefore.Add(backdate+p.Overlap)):
		signer, next, forceLeaf = next, nil, true
	}

	leaf, _ := ParseKeyPair(data[KeyTLSCert], data[KeyTLSKey])
	if forceLeaf || leaf == nil || leaf.Cert.CheckSignatureFrom(signer.Cert) != nil ||
		!slices.Equal(hostsOf(leaf.Cert), sortedHosts(p.Hosts)) || !now.Before(leaf.Cert.NotAfter) ||
		(next == nil && !now.Before(leaf.Cert.NotAfter.Add(-p.RenewBefore))) {
		notAfter := now.Add(p.LeafValidity)
		if notAfter.After(signer.Cert.NotAfter) {
			notAfter = signer.Cert.NotAfter
		}
		if leaf, err = signer.Issue(p.Hosts, now.Add(-backdate), notAfter); err != nil {
			return nil, false, err
		}
	}

	out := map[string][]byte{
		KeyTLSCert:    leaf.CertPEM,
		KeyTLSKey:     leaf.KeyPEM,
		KeySignerCert: signer.CertPEM,
		KeySignerKey:  signer.KeyPEM,
		KeyCABundle:   encodeCerts(trusted(now, data[KeyCABundle], signer, next)),
	}
	if next != nil {
		out[KeyNextCert], out[KeyNextKey] = next.CertPEM, next.KeyPEM
	}
	return out, !maps.EqualFunc(data, out, bytes.Equal), nil
}

// newCA creates a CA valid from now (backdated) for p.CAValidity.
func newCA(now time.Time, p Policy) (*KeyPair, error) {
	return NewCA("maas-webhook-ca@"+now.UTC().Format(time.RFC3339), now.Add(-backdate), now.Add(p.CAValidity))
}

// trusted is the caBundle: the CAs of the old bundle that are still valid, the signer and
// the next CA, oldest first.
func trusted(now time.Time, oldBundle []byte, signer, next *KeyPair) []*x509.Certificate {
	old, _ := ParseCerts(oldBundle)
	all := append(old, signer.Cert)
	if next != nil {
		all = append(all, next.Cert)
	}
	var out []*x509.Certificate
	for _, c := range all {
		if !c.IsCA || !now.Before(c.NotAfter) || slices.ContainsFunc(out, func(o *x509.Certificate) bool { return o.Equal(c) }) {
			continue
		}
		out = append(out, c)
	}
	slices.SortStableFunc(out, func(a, b *x509.Certificate) int { return a.NotBefore.Compare(b.NotBefore) })
	return out
}

// sortedHosts is hosts as hostsOf lists them: IP addresses in canonical form, sorted.
func sortedHosts(hosts []string) []string {
	out := make([]string, 0, len(hosts))
	for _, h := range hosts {
		if ip := net.ParseIP(h); ip != nil {
			h = ip.String()
		}
		out = append(out, h)
	}
	slices.Sort(out)
	return out
}
