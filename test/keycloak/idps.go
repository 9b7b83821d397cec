package keycloak

import (
	"net/http"
	"strings"
)

// secretMask is what Keycloak returns instead of a stored identity provider secret; sent
// back in an update it keeps the stored secret.
const secretMask = "**********"

const clientSecretKey = "clientSecret"

// knownProviders are the identity provider types the simulator accepts.
var knownProviders = map[string]bool{
	"oidc": true, "keycloak-oidc": true, "saml": true, "github": true, "google": true,
	"gitlab": true, "microsoft": true, "facebook": true, "linkedin-openid-connect": true,
	"openshift-v3": true, "openshift-v4": true, "twitter": true, "stackoverflow": true,
	"bitbucket": true, "paypal": true, "instagram": true,
}

// idpDefaults are the values Keycloak gives an identity provider created without them.
var idpDefaults = map[string]any{
	"enabled":                     true,
	"updateProfileFirstLoginMode": "on",
	"trustEmail":                  false,
	"storeToken":                  false,
	"addReadTokenRoleOnCreate":    false,
	"authenticateByDefault":       false,
	"linkOnly":                    false,
	"hideOnLogin":                 false,
	"firstBrokerLoginFlowAlias":   "first broker login",
	"config":                      map[string]any{},
}

// storeIdentityProvider normalises a representation for storage: defaults, the given
// internal id, and the effective sync mode ("LEGACY" when none is set).
func storeIdentityProvider(rep map[string]any, internalID string) map[string]any {
	stored := copyMap(rep)
	stored["internalId"] = internalID
	fillDefaults(stored, idpDefaults)
	if cfg, isMap := stored["config"].(map[string]any); isMap && stringField(cfg, "syncMode") == "" {
		cfg["syncMode"] = "LEGACY"
	}
	return stored
}

// maskedIdentityProvider is the identity provider as GET returns it: the client secret
// masked unless it is a vault reference.
func maskedIdentityProvider(stored map[string]any) map[string]any {
	out := copyMap(stored)
	if cfg, isMap := out["config"].(map[string]any); isMap {
		if secret := stringField(cfg, clientSecretKey); secret != "" && !strings.HasPrefix(secret, "${vault.") {
			cfg[clientSecretKey] = secretMask
		}
	}
	return out
}

// decodeIdentityProvider reads and checks an identity provider body.
func decodeIdentityProvider(rq *request) (map[string]any, response, bool) {
	var rep map[string]any
	if !rq.decode(&rep) {
		return nil, genericError(http.StatusBadRequest, "unknown_error"), false
	}
	if id := stringField(rep, "providerId"); !knownProviders[id] {
		return nil, errorMessage(http.StatusBadRequest, "Invalid identity provider id ["+id+"]"), false
	}
	return rep, response{}, true
}

func (s *Server) listIdentityProviders(rq *request) response {
	return s.withRealm(rq, func(rlm *realm) response {
		aliases := sortedKeys(rlm.idps)
		out := make([]map[string]any, 0, len(aliases))
		for _, alias := range aliases {
			out = append(out, maskedIdentityProvider(rlm.idps[alias]))
		}
		return ok(out)
	})
}

func (s *Server) createIdentityProvider(rq *request) response {
	return s.withRealm(rq, func(rlm *realm) response {
		rep, resp, valid := decodeIdentityProvider(rq)
		if !valid {
			return resp
		}
		alias := stringField(rep, "alias")
		switch {
		case alias == "":
			// The reference gives no text for this case; the message is the simulator's.
			return errorMessage(http.StatusBadRequest, "Identity Provider alias is missing")
		case rlm.idps[alias] != nil:
			return errorMessage(http.StatusConflict, "Identity Provider "+alias+" already exists")
		}
		rlm.idps[alias] = storeIdentityProvider(rep, newID())
		return created(rq.baseURL + "/admin/realms/" + rlm.name() + "/identity-provider/instances/" + alias)
	})
}

// withIdentityProvider runs fn with the realm and the stored identity provider named in
// the path, or answers Keycloak 26's 404.
func (s *Server) withIdentityProvider(rq *request, fn func(*realm, map[string]any) response) response {
	return s.withRealm(rq, func(rlm *realm) response {
		stored := rlm.idps[rq.params["alias"]]
		if stored == nil {
			return genericError(http.StatusNotFound, "HTTP 404 Not Found")
		}
		return fn(rlm, stored)
	})
}

func (s *Server) getIdentityProvider(rq *request) response {
	return s.withIdentityProvider(rq, func(_ *realm, stored map[string]any) response {
		return ok(maskedIdentityProvider(stored))
	})
}

// updateIdentityProvider serves PUT .../instances/{alias}. Unlike a client update it
// replaces the whole representation; a masked client secret keeps the stored one.
func (s *Server) updateIdentityProvider(rq *request) response {
	return s.withIdentityProvider(rq, func(rlm *realm, stored map[string]any) response {
		rep, resp, valid := decodeIdentityProvider(rq)
		if !valid {
			return resp
		}
		alias := rq.params["alias"]
		if a := stringField(rep, "alias"); a != "" && a != alias {
			// The reference records a 400 for an alias change but not its text.
			return errorMessage(http.StatusBadRequest, "Identity Provider alias cannot be changed")
		}
		rep["alias"] = alias
		if cfg, isMap := rep["config"].(map[string]any); isMap && cfg[clientSecretKey] == secretMask {
			oldCfg, _ := stored["config"].(map[string]any)
			if secret, has := oldCfg[clientSecretKey]; has {
				cfg[clientSecretKey] = secret
			} else {
				delete(cfg, clientSecretKey)
			}
		}
		rlm.idps[alias] = storeIdentityProvider(rep, stringField(stored, "internalId"))
		return noContent()
	})
}
