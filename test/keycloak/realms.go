package keycloak

import (
	"net/http"

	"github.com/google/uuid"
)

// realm is the stored state of one realm.
type realm struct {
	rep     map[string]any
	users   map[string]string // username → password
	clients []*client         // in creation order
	idps    map[string]map[string]any
}

func (rlm *realm) name() string { return stringField(rlm.rep, "realm") }

// realmDefaults are the top-level values Keycloak gives a realm created without them
// (a realm created without "enabled" is disabled).
var realmDefaults = map[string]any{
	"enabled":                   false,
	"sslRequired":               "external",
	"accessTokenLifespan":       300,
	"registrationAllowed":       false,
	"loginWithEmailAllowed":     true,
	"duplicateEmailsAllowed":    false,
	"resetPasswordAllowed":      false,
	"bruteForceProtected":       false,
	"defaultSignatureAlgorithm": "RS256",
}

// defaultClients are the clients Keycloak creates in every new realm.
var defaultClients = []map[string]any{
	{"clientId": "account", "publicClient": true},
	{"clientId": "account-console", "publicClient": true},
	{"clientId": "admin-cli", "publicClient": true, "standardFlowEnabled": false, "directAccessGrantsEnabled": true},
	{"clientId": "broker", "bearerOnly": true, "standardFlowEnabled": false},
	{"clientId": "realm-management", "bearerOnly": true, "standardFlowEnabled": false},
	{"clientId": "security-admin-console", "publicClient": true},
}

func newID() string { return uuid.NewString() }

// addRealm stores a realm from a create request and gives it Keycloak's default clients.
// Nested objects of a full realm import (clients, users, ...) are not imported.
func (s *Server) addRealm(rep map[string]any) *realm {
	stored := map[string]any{"id": newID()}
	for _, key := range []string{"id", "realm", "displayName", "enabled"} {
		if v, set := rep[key]; set {
			stored[key] = v
		}
	}
	fillDefaults(stored, realmDefaults)
	rlm := &realm{rep: stored, users: map[string]string{}, idps: map[string]map[string]any{}}
	for _, c := range defaultClients {
		rlm.addClient(copyMap(c))
	}
	s.realms = append(s.realms, rlm)
	return rlm
}

func (s *Server) realm(name string) *realm {
	for _, rlm := range s.realms {
		if rlm.name() == name {
			return rlm
		}
	}
	return nil
}

// withRealm runs fn with the realm named in the path, or answers Keycloak's 404.
func (s *Server) withRealm(rq *request, fn func(*realm) response) response {
	rlm := s.realm(rq.params["realm"])
	if rlm == nil {
		return genericError(http.StatusNotFound, "Realm not found.")
	}
	return fn(rlm)
}

func (s *Server) listRealms(*request) response {
	out := make([]map[string]any, 0, len(s.realms))
	for _, rlm := range s.realms {
		out = append(out, copyMap(rlm.rep))
	}
	return ok(out)
}

func (s *Server) createRealm(rq *request) response {
	var rep map[string]any
	if !rq.decode(&rep) {
		return genericError(http.StatusBadRequest, "unknown_error")
	}
	name := stringField(rep, "realm")
	switch {
	case name == "":
		return errorMessage(http.StatusBadRequest, "Realm name cannot be empty")
	case s.realm(name) != nil:
		return errorMessage(http.StatusConflict, "Conflict detected. See logs for details")
	}
	s.addRealm(rep)
	return created(rq.baseURL + "/admin/realms/" + name)
}

func (s *Server) getRealm(rq *request) response {
	return s.withRealm(rq, func(rlm *realm) response { return ok(copyMap(rlm.rep)) })
}
