package keycloak

import (
	"maps"
	"net/http"
)

// ProtocolMapper is a protocol mapper of a client, as the admin API represents it
// (ProtocolMapperRepresentation).
type ProtocolMapper struct {
	ID              string            `json:"id"`
	Name            string            `json:"name"`
	Protocol        string            `json:"protocol"`
	ProtocolMapper  string            `json:"protocolMapper"`
	ConsentRequired bool              `json:"consentRequired"`
	Config          map[string]string `json:"config"`
}

// knownMapperTypes are the protocol mapper providers the simulator accepts; Keycloak
// answers 404 for any other.
var knownMapperTypes = map[string]bool{
	"oidc-usermodel-property-mapper":    true,
	"oidc-usermodel-attribute-mapper":   true,
	"oidc-hardcoded-claim-mapper":       true,
	"oidc-hardcoded-role-mapper":        true,
	"oidc-audience-mapper":              true,
	"oidc-full-name-mapper":             true,
	"oidc-address-mapper":               true,
	"oidc-group-membership-mapper":      true,
	"oidc-usermodel-realm-role-mapper":  true,
	"oidc-usermodel-client-role-mapper": true,
	"oidc-role-name-mapper":             true,
	"oidc-usersessionmodel-note-mapper": true,
	"oidc-sha256-pairwise-sub-mapper":   true,
	"oidc-allowed-origins-mapper":       true,
	"oidc-acr-mapper":                   true,
	"oidc-sub-mapper":                   true,
	"saml-user-property-mapper":         true,
	"saml-user-attribute-mapper":        true,
	"saml-role-list-mapper":             true,
	"saml-hardcode-attribute-mapper":    true,
	"saml-group-membership-mapper":      true,
	"saml-audience-mapper":              true,
}

const (
	accessTokenClaim        = "access.token.claim"
	introspectionTokenClaim = "introspection.token.claim"
)

// withoutEmpty drops the config entries with empty values, as Keycloak does on every
// mapper write.
func withoutEmpty(config map[string]string) map[string]string {
	out := maps.Clone(config)
	if out == nil {
		out = map[string]string{}
	}
	maps.DeleteFunc(out, func(_, v string) bool { return v == "" })
	return out
}

// addMapper stores a new mapper the way Keycloak 23+ does: a new id, the client's
// protocol when none is given, empty config values dropped, and
// introspection.token.claim added to mirror access.token.claim.
func (c *client) addMapper(m *ProtocolMapper) {
	m.ID = newID()
	if m.Protocol == "" {
		m.Protocol = stringField(c.rep, "protocol")
	}
	m.Config = withoutEmpty(m.Config)
	if v, has := m.Config[accessTokenClaim]; has && m.Protocol == "openid-connect" {
		if _, set := m.Config[introspectionTokenClaim]; !set {
			m.Config[introspectionTokenClaim] = v
		}
	}
	c.mappers = append(c.mappers, m)
}

// withMapper runs fn with the client and the mapper named in the path, or answers 404.
func (s *Server) withMapper(rq *request, fn func(*client, int) response) response {
	return s.withClient(rq, func(_ *realm, c *client) response {
		for i, m := range c.mappers {
			if m.ID == rq.params["id"] {
				return fn(c, i)
			}
		}
		return genericError(http.StatusNotFound, "Model not found")
	})
}

func (s *Server) listMappers(rq *request) response {
	return s.withClient(rq, func(_ *realm, c *client) response {
		out := []ProtocolMapper{}
		for _, m := range c.mappers {
			out = append(out, copyMapper(m))
		}
		return ok(out)
	})
}

func (s *Server) createMapper(rq *request) response {
	return s.withClient(rq, func(rlm *realm, c *client) response {
		var m ProtocolMapper
		if !rq.decode(&m) {
			return genericError(http.StatusBadRequest, "unknown_error")
		}
		if !knownMapperTypes[m.ProtocolMapper] {
			return genericError(http.StatusNotFound, "ProtocolMapper provider not found")
		}
		protocol := m.Protocol
		if protocol == "" {
			protocol = stringField(c.rep, "protocol")
		}
		for _, existing := range c.mappers {
			if existing.Name == m.Name && existing.Protocol == protocol {
				return errorMessage(http.StatusConflict, "Protocol mapper exists with same name")
			}
		}
		c.addMapper(&m)
		return created(rq.baseURL + "/admin/realms/" + rlm.name() + "/clients/" + c.id() + "/protocol-mappers/models/" + m.ID)
	})
}

func (s *Server) getMapper(rq *request) response {
	return s.withMapper(rq, func(c *client, i int) response { return ok(copyMapper(c.mappers[i])) })
}

// updateMapper serves PUT .../protocol-mappers/models/{id}. Like Keycloak it changes
// only the mapper type and the config (replaced, empty values dropped); name and
// protocol in the body are ignored.
func (s *Server) updateMapper(rq *request) response {
	return s.withMapper(rq, func(c *client, i int) response {
		var m ProtocolMapper
		if !rq.decode(&m) {
			return genericError(http.StatusBadRequest, "unknown_error")
		}
		if !knownMapperTypes[m.ProtocolMapper] {
			return genericError(http.StatusNotFound, "ProtocolMapper provider not found")
		}
		c.mappers[i].ProtocolMapper = m.ProtocolMapper
		c.mappers[i].Config = withoutEmpty(m.Config)
		return noContent()
	})
}

func (s *Server) deleteMapper(rq *request) response {
	return s.withMapper(rq, func(c *client, i int) response {
		c.mappers = append(c.mappers[:i], c.mappers[i+1:]...)
		return noContent()
	})
}

func copyMapper(m *ProtocolMapper) ProtocolMapper {
	out := *m
	out.Config = maps.Clone(m.Config)
	return out
}
