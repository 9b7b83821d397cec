package keycloak

import (
	"net/http"
	"strings"
)

// route is one operation the simulator serves.
type route struct {
	method   string
	template string
	// admin routes need a valid bearer token of the master realm.
	admin  bool
	handle func(s *Server, rq *request) response
}

const (
	realmsPath  = "/admin/realms"
	realmPath   = realmsPath + "/{realm}"
	clientsPath = realmPath + "/clients"
	clientPath  = clientsPath + "/{client-uuid}"
	secretPath  = clientPath + "/client-secret"
	mappersPath = clientPath + "/protocol-mappers/models"
	mapperPath  = mappersPath + "/{id}"
	idpsPath    = realmPath + "/identity-provider/instances"
	idpPath     = idpsPath + "/{alias}"
)

// routes lists every operation; the templates use the official OpenAPI document's names.
var routes = []route{
	{http.MethodPost, TokenTemplate, false, (*Server).token},
	{http.MethodGet, realmsPath, true, (*Server).listRealms},
	{http.MethodPost, realmsPath, true, (*Server).createRealm},
	{http.MethodGet, realmPath, true, (*Server).getRealm},
	{http.MethodGet, clientsPath, true, (*Server).listClients},
	{http.MethodPost, clientsPath, true, (*Server).createClient},
	{http.MethodGet, clientPath, true, (*Server).getClient},
	{http.MethodPut, clientPath, true, (*Server).updateClient},
	{http.MethodGet, secretPath, true, (*Server).getClientSecret},
	{http.MethodPost, secretPath, true, (*Server).regenerateClientSecret},
	{http.MethodGet, mappersPath, true, (*Server).listMappers},
	{http.MethodPost, mappersPath, true, (*Server).createMapper},
	{http.MethodGet, mapperPath, true, (*Server).getMapper},
	{http.MethodPut, mapperPath, true, (*Server).updateMapper},
	{http.MethodDelete, mapperPath, true, (*Server).deleteMapper},
	{http.MethodGet, idpsPath, true, (*Server).listIdentityProviders},
	{http.MethodPost, idpsPath, true, (*Server).createIdentityProvider},
	{http.MethodGet, idpPath, true, (*Server).getIdentityProvider},
	{http.MethodPut, idpPath, true, (*Server).updateIdentityProvider},
}

// lookup finds the route of method and path. When none matches it reports whether some
// route has that path with another method (405 rather than 404).
func lookup(method, path string) (*route, map[string]string, bool) {
	pathKnown := false
	for i := range routes {
		params, matched := match(routes[i].template, path)
		if !matched {
			continue
		}
		if routes[i].method == method {
			return &routes[i], params, true
		}
		pathKnown = true
	}
	return nil, nil, pathKnown
}

// match reports whether path fits template, returning the values of its parameters.
func match(template, path string) (map[string]string, bool) {
	want, got := strings.Split(template, "/"), strings.Split(path, "/")
	if len(want) != len(got) {
		return nil, false
	}
	params := map[string]string{}
	for i, seg := range want {
		if name, isParam := strings.CutPrefix(seg, "{"); isParam {
			if got[i] == "" {
				return nil, false
			}
			params[strings.TrimSuffix(name, "}")] = got[i]
			continue
		}
		if seg != got[i] {
			return nil, false
		}
	}
	return params, true
}

// Routes returns every Call the simulator serves, in a stable order.
func Routes() []Call {
	out := make([]Call, len(routes))
	for i, rt := range routes {
		out[i] = Call{Method: rt.method, Template: rt.template}
	}
	return out
}
