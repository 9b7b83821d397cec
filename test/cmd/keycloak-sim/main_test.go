package main

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/maas-io/maas-webhook/test/keycloak"
)

func TestParseBasePath(t *testing.T) {
	tests := []struct {
		in      string
		want    keycloak.BasePath
		wantErr bool
	}{
		{in: "keycloak", want: keycloak.BasePathKeycloak},
		{in: "rhsso", want: keycloak.BasePathRHSSO},
		{in: "/auth", wantErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			got, err := parseBasePath(tc.in)
			if (err != nil) != tc.wantErr {
				t.Fatalf("error = %v, want error: %v", err, tc.wantErr)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("base path (-want +got):\n%s", diff)
			}
		})
	}
}

func TestCheckLoopback(t *testing.T) {
	tests := []struct {
		listen string
		want   string
	}{
		{listen: "127.0.0.1:0"},
		{listen: "[::1]:8180"},
		{listen: "localhost:8180"},
		{listen: "0.0.0.0:8180", want: `-listen "0.0.0.0:8180" is not a loopback address`},
		{listen: "sso.example.com:80", want: `-listen "sso.example.com:80" is not a loopback address`},
		{listen: "8180", want: `parse -listen "8180": address 8180: missing port in address`},
	}
	for _, tc := range tests {
		t.Run(tc.listen, func(t *testing.T) {
			var got string
			if err := checkLoopback(tc.listen); err != nil {
				got = err.Error()
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("error (-want +got):\n%s", diff)
			}
		})
	}
}
