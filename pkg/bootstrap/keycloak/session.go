package keycloak

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/Nerzal/gocloak/v13"
	"github.com/go-logr/logr"
	"github.com/go-resty/resty/v2"
)

const masterRealm = "master"

// session is a gocloak client logged in to the master realm. Master realm tokens live
// 60 seconds by default, shorter than a slow run may take, so a call that Keycloak
// rejects as unauthorized logs in again once and is retried.
type session struct {
	gc    *gocloak.GoCloak
	admin AdminCredentials
	token string
}

// login gets a new access token. Errors name the user or client, never the secret.
func (s *session) login(ctx context.Context) error {
	if s.admin.usesPassword() {
		jwt, err := s.gc.LoginAdmin(ctx, s.admin.Username, s.admin.Password, masterRealm)
		if err != nil {
			return fmt.Errorf("log in to Keycloak realm %s as user %q: %w", masterRealm, s.admin.Username, err)
		}
		s.token = jwt.AccessToken
		return nil
	}
	jwt, err := s.gc.LoginClient(ctx, s.admin.ClientID, s.admin.ClientSecret, masterRealm)
	if err != nil {
		return fmt.Errorf("log in to Keycloak realm %s as client %q: %w", masterRealm, s.admin.ClientID, err)
	}
	s.token = jwt.AccessToken
	return nil
}

// do calls fn with the access token; when Keycloak answers 401 it logs in again and
// calls fn once more.
func (s *session) do(ctx context.Context, fn func(token string) error) error {
	err := fn(s.token)
	if !isStatus(err, http.StatusUnauthorized) {
		return err
	}
	logr.FromContextOrDiscard(ctx).V(1).Info("Keycloak rejected the access token, logging in again")
	if err := s.login(ctx); err != nil {
		return err
	}
	return fn(s.token)
}

// doJSON sends one admin API request with a raw JSON body and result, for the
// representations gocloak v13's types would truncate.
func (s *session) doJSON(ctx context.Context, method, url string, body, result any) error {
	return s.do(ctx, func(token string) error {
		req := s.gc.GetRequestWithBearerAuth(ctx, token)
		if body != nil {
			req.SetBody(body)
		}
		if result != nil {
			req.SetResult(result)
		}
		resp, err := req.Execute(method, url)
		return apiError(resp, err)
	})
}

// apiError turns a failed response into a *gocloak.APIError like gocloak's own calls
// return, so callers handle both alike.
func apiError(resp *resty.Response, err error) error {
	if err != nil {
		return err
	}
	if !resp.IsError() {
		return nil
	}
	msg := resp.Status()
	if e, isHTTPError := resp.Error().(*gocloak.HTTPErrorResponse); isHTTPError && e.NotEmpty() {
		msg += ": " + e.String()
	}
	return &gocloak.APIError{Code: resp.StatusCode(), Message: msg}
}

// isStatus reports whether err is a Keycloak answer with the given HTTP status.
func isStatus(err error, status int) bool {
	var apiErr *gocloak.APIError
	return errors.As(err, &apiErr) && apiErr.Code == status
}
