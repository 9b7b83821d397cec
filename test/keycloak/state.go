package keycloak

// State is a deep copy of everything the simulator stores, for assertions in tests.
// Representations are JSON objects decoded into Go values (map[string]any, []any,
// float64, string, bool).
type State struct {
	// Realms are in creation order; master comes first.
	Realms []RealmState
}

// RealmState is one realm of a State.
type RealmState struct {
	// Representation is the realm as GET returns it.
	Representation map[string]any
	// Users are the usernames of the realm's users (passwords are not exposed).
	Users []string
	// Clients are in creation order.
	Clients []ClientState
	// IdentityProviders are sorted by alias and hold their secrets unmasked.
	IdentityProviders []map[string]any
}

// ClientState is one client of a RealmState.
type ClientState struct {
	// Representation is the client as GET returns it, without protocolMappers.
	Representation map[string]any
	// Secret is the client secret ("" for a public client).
	Secret string
	// ProtocolMappers are in creation order.
	ProtocolMappers []ProtocolMapper
}

// Snapshot returns a deep copy of the simulator's state.
func (s *Server) Snapshot() State {
	s.mu.Lock()
	defer s.mu.Unlock()
	var st State
	for _, rlm := range s.realms {
		rs := RealmState{Representation: copyMap(rlm.rep), Users: sortedKeys(rlm.users)}
		for _, c := range rlm.clients {
			cs := ClientState{Representation: copyMap(c.rep), Secret: c.secret}
			for _, m := range c.mappers {
				cs.ProtocolMappers = append(cs.ProtocolMappers, copyMapper(m))
			}
			rs.Clients = append(rs.Clients, cs)
		}
		for _, alias := range sortedKeys(rlm.idps) {
			rs.IdentityProviders = append(rs.IdentityProviders, copyMap(rlm.idps[alias]))
		}
		st.Realms = append(st.Realms, rs)
	}
	return st
}

// Realm returns the realm with the given name.
func (st State) Realm(name string) (RealmState, bool) {
	for _, rs := range st.Realms {
		if stringField(rs.Representation, "realm") == name {
			return rs, true
		}
	}
	return RealmState{}, false
}

// Client returns the client with the given clientId.
func (rs RealmState) Client(clientID string) (ClientState, bool) {
	for _, cs := range rs.Clients {
		if stringField(cs.Representation, "clientId") == clientID {
			return cs, true
		}
	}
	return ClientState{}, false
}

// IdentityProvider returns the identity provider with the given alias.
func (rs RealmState) IdentityProvider(alias string) (map[string]any, bool) {
	for _, idp := range rs.IdentityProviders {
		if stringField(idp, "alias") == alias {
			return idp, true
		}
	}
	return nil, false
}

// Mapper returns the protocol mapper with the given name.
func (cs ClientState) Mapper(name string) (ProtocolMapper, bool) {
	for _, m := range cs.ProtocolMappers {
		if m.Name == name {
			return m, true
		}
	}
	return ProtocolMapper{}, false
}
