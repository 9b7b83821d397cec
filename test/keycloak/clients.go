package keycloak

import (
	"crypto/rand"
	"net/http"
	"strconv"
	"strings"
)

// client is the stored state of one client. The secret and the protocol mappers are kept
// apart from the representation because the API exposes them through their own routes.
type client struct {
	rep     map[string]any
	secret  string
	mappers []*ProtocolMapper
}

func (c *client) id() string       { return stringField(c.rep, "id") }
func (c *client) clientID() string { return stringField(c.rep, "clientId") }

// clientDefaults are the values Keycloak gives a client created without them.
var clientDefaults = map[string]any{
	"surrogateAuthRequired":              false,
	"enabled":                            true,
	"alwaysDisplayInConsole":             false,
	"clientAuthenticatorType":            "client-secret",
	"redirectUris":                       []any{},
	"webOrigins":                         []any{},
	"notBefore":                          0,
	"bearerOnly":                         false,
	"consentRequired":                    false,
	"standardFlowEnabled":                true,
	"implicitFlowEnabled":                false,
	"directAccessGrantsEnabled":          false,
	"serviceAccountsEnabled":             false,
	"publicClient":                       false,
	"frontchannelLogout":                 true,
	"protocol":                           "openid-connect",
	"attributes":                         map[string]any{},
	"authenticationFlowBindingOverrides": map[string]any{},
	"fullScopeAllowed":                   true,
	"nodeReRegistrationTimeout":          -1,
	"defaultClientScopes":                []any{"web-origins", "acr", "profile", "roles", "basic", "email"},
	"optionalClientScopes":               []any{"address", "phone", "offline_access", "organization", "microprofile-jwt"},
	"access":                             map[string]any{"view": true, "configure": true, "manage": true},
}

// clientUpdateIgnored are the keys a client update does not change: the id, and what
// has routes of its own.
var clientUpdateIgnored = map[string]bool{
	"id": true, "protocolMappers": true, "defaultClientScopes": true, "optionalClientScopes": true, "access": true,
}

// addClient stores a client from a create request (already validated), with the
// protocol mappers it carries. A confidential client without a secret gets a generated one.
func (rlm *realm) addClient(rep map[string]any) *client {
	stored := copyMap(rep)
	var mappers []*ProtocolMapper
	if raw, has := stored["protocolMappers"]; has {
		roundTrip(raw, &mappers)
	}
	c := &client{secret: stringField(stored, "secret")}
	delete(stored, "protocolMappers")
	delete(stored, "secret")
	if stringField(stored, "id") == "" {
		stored["id"] = newID()
	}
	fillDefaults(stored, clientDefaults)
	c.rep = stored
	c.normalize()
	for _, m := range mappers {
		c.addMapper(m)
	}
	rlm.clients = append(rlm.clients, c)
	return c
}

// normalize re-encodes the representation into plain JSON values, stores the URI lists
// as sets, and generates a secret for a confidential client that has none.
func (c *client) normalize() {
	c.rep = copyMap(c.rep)
	for _, key := range []string{"redirectUris", "webOrigins"} {
		c.rep[key] = sortedSet(c.rep[key])
	}
	if c.secret == "" && !boolField(c.rep, "publicClient") && !boolField(c.rep, "bearerOnly") {
		c.secret = rand.Text()
	}
}

// view is the client as GET returns it: with the secret of a confidential client and
// its protocol mappers, when it has any.
func (c *client) view() map[string]any {
	out := copyMap(c.rep)
	if c.secret != "" && !boolField(c.rep, "publicClient") {
		out["secret"] = c.secret
	}
	if len(c.mappers) > 0 {
		var mappers []any
		roundTrip(c.mappers, &mappers)
		out["protocolMappers"] = mappers
	}
	return out
}

func (rlm *realm) clientByClientID(clientID string) *client {
	for _, c := range rlm.clients {
		if c.clientID() == clientID {
			return c
		}
	}
	return nil
}

// withClient runs fn with the realm and client named in the path, or answers 404.
func (s *Server) withClient(rq *request, fn func(*realm, *client) response) response {
	return s.withRealm(rq, func(rlm *realm) response {
		for _, c := range rlm.clients {
			if c.id() == rq.params["client-uuid"] {
				return fn(rlm, c)
			}
		}
		return genericError(http.StatusNotFound, "Could not find client")
	})
}

// listClients serves GET .../clients: clientId matches exactly unless search=true, which
// makes it a case-insensitive substring match; first and max page the result.
func (s *Server) listClients(rq *request) response {
	return s.withRealm(rq, func(rlm *realm) response {
		q := rq.http.URL.Query()
		want, search := q.Get("clientId"), q.Get("search") == "true"
		out := []map[string]any{}
		for _, c := range rlm.clients {
			id := c.clientID()
			switch {
			case want == "":
			case search && strings.Contains(strings.ToLower(id), strings.ToLower(want)):
			case !search && id == want:
			default:
				continue
			}
			out = append(out, c.view())
		}
		return ok(page(out, q.Get("first"), q.Get("max")))
	})
}

// page applies Keycloak's first/max query parameters; invalid values are ignored.
func page[T any](items []T, first, max string) []T {
	if n, err := strconv.Atoi(first); err == nil && n > 0 {
		items = items[min(n, len(items)):]
	}
	if n, err := strconv.Atoi(max); err == nil && n >= 0 {
		items = items[:min(n, len(items))]
	}
	return items
}

func (s *Server) createClient(rq *request) response {
	return s.withRealm(rq, func(rlm *realm) response {
		var rep map[string]any
		if !rq.decode(&rep) {
			return genericError(http.StatusBadRequest, "unknown_error")
		}
		id := stringField(rep, "clientId")
		if id == "" {
			return errorMessage(http.StatusBadRequest, "Client ID is missing")
		}
		if rlm.clientByClientID(id) != nil {
			return errorMessage(http.StatusConflict, "Client "+id+" already exists")
		}
		var mappers []*ProtocolMapper
		if raw, has := rep["protocolMappers"]; has {
			roundTrip(raw, &mappers)
		}
		for _, m := range mappers {
			if !knownMapperTypes[m.ProtocolMapper] {
				return genericError(http.StatusNotFound, "ProtocolMapper provider not found")
			}
		}
		c := rlm.addClient(rep)
		return created(rq.baseURL + "/admin/realms/" + rlm.name() + "/clients/" + c.id())
	})
}

func (s *Server) getClient(rq *request) response {
	return s.withClient(rq, func(_ *realm, c *client) response { return ok(c.view()) })
}

// updateClient serves PUT .../clients/{client-uuid}: it merges. Absent or null fields
// are kept and attributes are merged key by key.
func (s *Server) updateClient(rq *request) response {
	return s.withClient(rq, func(rlm *realm, c *client) response {
		var rep map[string]any
		if !rq.decode(&rep) {
			return genericError(http.StatusBadRequest, "unknown_error")
		}
		if id := stringField(rep, "clientId"); id != "" && id != c.clientID() && rlm.clientByClientID(id) != nil {
			return errorMessage(http.StatusConflict, "Client "+id+" already exists")
		}
		for key, v := range rep {
			switch {
			case v == nil || clientUpdateIgnored[key]:
			case key == "secret":
				if secret, isString := v.(string); isString && secret != "" {
					c.secret = secret
				}
			case key == "attributes":
				attrs, _ := c.rep["attributes"].(map[string]any)
				if attrs == nil {
					attrs = map[string]any{}
					c.rep["attributes"] = attrs
				}
				updates, _ := v.(map[string]any)
				for k, val := range updates {
					attrs[k] = val
				}
			default:
				c.rep[key] = v
			}
		}
		c.normalize()
		return noContent()
	})
}

func (s *Server) getClientSecret(rq *request) response {
	return s.withClient(rq, func(_ *realm, c *client) response { return ok(secretView(c)) })
}

func (s *Server) regenerateClientSecret(rq *request) response {
	return s.withClient(rq, func(_ *realm, c *client) response {
		c.secret = rand.Text()
		return ok(secretView(c))
	})
}

// secretView is the CredentialRepresentation of a client secret.
func secretView(c *client) map[string]any {
	out := map[string]any{"type": "secret"}
	if c.secret != "" {
		out["value"] = c.secret
	}
	return out
}
