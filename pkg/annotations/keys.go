// Package annotations is the contract between the people who annotate an
// InferenceService and the parts of maas-webhook that act on it: the keys, how their
// values are parsed and validated, and how defaults are filled in.
//
// It is pure: it reads and writes string maps and never talks to a cluster or to 3scale,
// so the admission webhook, the sync controller and the offline render command share one
// implementation and can never disagree.
package annotations

// Prefix is the prefix of every input annotation. Any other key under it is an error.
const Prefix = "maas.io/"

// Input annotations, set by users (the webhook writes the defaults in).
const (
	// Expose publishes the model when "true" and withdraws it when "false". Objects
	// without it are not managed.
	Expose = Prefix + "expose"
	// DisplayName is the product name shown in the developer portal.
	DisplayName = Prefix + "display-name"
	// Description is the product description.
	Description = Prefix + "description"
	// SystemName is the 3scale system_name of the backend and the product.
	SystemName = Prefix + "system-name"
	// Endpoints is a comma list of the API families to expose, or "openai" for all of
	// chat, completions, embeddings and models.
	Endpoints = Prefix + "endpoints"
	// Plans is a comma list of application plan names from the configuration.
	Plans = Prefix + "plans"
	// TokenMetrics adds the token-usage policy and the token metrics when "true".
	TokenMetrics = Prefix + "token-metrics"
	// BackendURL overrides the private base URL of the model.
	BackendURL = Prefix + "backend-url"
	// OpenAPI names a ConfigMap in the same namespace that holds the ActiveDocs spec, or
	// is "none" for no ActiveDocs.
	OpenAPI = Prefix + "openapi"
	// CORSAllowOrigin is the origin the CORS policy allows.
	CORSAllowOrigin = Prefix + "cors-allow-origin"
	// DeletionPolicy says whether withdrawal deletes ("delete") or keeps ("orphan") the
	// 3scale objects.
	DeletionPolicy = Prefix + "deletion-policy"
	// ForceRemove, when "true", drops the finalizer without calling 3scale: the escape
	// hatch for a 3scale tenant that is gone for good.
	ForceRemove = Prefix + "force-remove"
)

// OpenShiftDisplayName is the OpenShift AI display-name annotation, used as the default
// display name.
const OpenShiftDisplayName = "openshift.io/display-name"

// Labels.
const (
	// OptOut, set to "true" on a namespace or an object, makes maas-webhook ignore it,
	// whatever its annotations say.
	OptOut = Prefix + "opt-out"
	// Managed is set to "true" by the webhook on objects it defaulted.
	Managed = Prefix + "managed"
	// State mirrors StatusState, so that `kubectl get isvc -L maas.io/state` lists it.
	State = Prefix + "state"
)

// Finalizer keeps a published object until its 3scale objects are withdrawn.
const Finalizer = Prefix + "cleanup"

// StatusPrefix is the prefix of the output annotations, written only by the controller.
const StatusPrefix = "status.maas.io/"

// Output annotations, written only by the sync controller.
const (
	// StatusProductID is the 3scale product (service) id.
	StatusProductID = StatusPrefix + "product-id"
	// StatusBackendID is the 3scale backend id.
	StatusBackendID = StatusPrefix + "backend-id"
	// StatusEndpoint is the production public URL.
	StatusEndpoint = StatusPrefix + "endpoint"
	// StatusStagingEndpoint is the staging public URL.
	StatusStagingEndpoint = StatusPrefix + "staging-endpoint"
	// StatusState is one of the State values.
	StatusState = StatusPrefix + "state"
	// StatusMessage explains the state.
	StatusMessage = StatusPrefix + "message"
	// StatusAppliedHash is the hash of the last desired state applied to 3scale.
	StatusAppliedHash = StatusPrefix + "applied-hash"
	// StatusSyncedAt is the RFC 3339 time of the last successful sync.
	StatusSyncedAt = StatusPrefix + "synced-at"
	// StatusActiveDocID is the 3scale ActiveDocs id.
	StatusActiveDocID = StatusPrefix + "activedoc-id"
	// StatusAppliedSections holds the hash of each section of the applied desired
	// state, so that a change applies only the sections it touches.
	StatusAppliedSections = StatusPrefix + "applied-sections"
	// StatusErrorHash is the hash of a desired state 3scale refused for a reason only a
	// person can fix; it is not retried until the desired state changes.
	StatusErrorHash = StatusPrefix + "error-hash"
)

// Values of StatusState and of the State label.
const (
	StatePending         = "Pending"
	StateWaitingForModel = "WaitingForModel"
	StateSynced          = "Synced"
	StateError           = "Error"
	StateDeprovisioning  = "Deprovisioning"
)

// inputKeys lists every input annotation, for the unknown-key check and its hints.
var inputKeys = []string{
	Expose, DisplayName, Description, SystemName, Endpoints, Plans, TokenMetrics,
	BackendURL, OpenAPI, CORSAllowOrigin, DeletionPolicy, ForceRemove,
}
