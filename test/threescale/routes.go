package threescalesim

import "net/http"

// gapPutUpdate explains the PUT routes the spec omits: porta's `resource :proxy`
// and `resources :mapping_rules` route update to both PUT and PATCH, and
// porta-go-client sends PUT.
const gapPutUpdate = "routes.rb routes update to PUT and PATCH; the spec lists PATCH only"

func (s *Server) registerRoutes() {
	const (
		svc  = "/admin/api/services"
		be   = "/admin/api/backend_apis"
		plan = "/admin/api/application_plans/{plan}"
	)
	for _, rt := range []*route{
		// Products.
		{Route: Route{Op: "services.list", Method: http.MethodGet, Pattern: svc}, handle: s.servicesList},
		{Route: Route{Op: "services.create", Method: http.MethodPost, Pattern: svc}, wrapper: "service", handle: s.servicesCreate},
		{Route: Route{Op: "services.read", Method: http.MethodGet, Pattern: svc + "/{id}"}, handle: s.servicesRead},
		{Route: Route{Op: "services.update", Method: http.MethodPut, Pattern: svc + "/{id}"}, wrapper: "service", handle: s.servicesUpdate},
		{Route: Route{Op: "services.delete", Method: http.MethodDelete, Pattern: svc + "/{id}"}, handle: s.servicesDelete},
		// Backends (JSON only).
		{Route: Route{Op: "backend_apis.list", Method: http.MethodGet, Pattern: be, JSONOnly: true}, handle: s.backendsList},
		{Route: Route{Op: "backend_apis.create", Method: http.MethodPost, Pattern: be, JSONOnly: true}, wrapper: "backend_api", handle: s.backendsCreate},
		{Route: Route{Op: "backend_apis.read", Method: http.MethodGet, Pattern: be + "/{id}", JSONOnly: true}, handle: s.backendsRead},
		{Route: Route{Op: "backend_apis.update", Method: http.MethodPut, Pattern: be + "/{id}", JSONOnly: true}, wrapper: "backend_api", handle: s.backendsUpdate},
		{Route: Route{Op: "backend_apis.delete", Method: http.MethodDelete, Pattern: be + "/{id}", JSONOnly: true}, handle: s.backendsDelete},
		// Metrics and methods of products and backends.
		{Route: Route{Op: "service_metrics.list", Method: http.MethodGet, Pattern: svc + "/{owner}/metrics"}, handle: s.metricsList(OwnerService, false)},
		{Route: Route{Op: "service_metrics.create", Method: http.MethodPost, Pattern: svc + "/{owner}/metrics"}, wrapper: "metric", handle: s.metricsCreate(OwnerService, false)},
		{Route: Route{Op: "service_metrics.read", Method: http.MethodGet, Pattern: svc + "/{owner}/metrics/{id}"}, handle: s.metricsRead(OwnerService, false)},
		{Route: Route{Op: "service_metrics.update", Method: http.MethodPut, Pattern: svc + "/{owner}/metrics/{id}"}, wrapper: "metric", handle: s.metricsUpdate(OwnerService, false)},
		{Route: Route{Op: "service_metrics.delete", Method: http.MethodDelete, Pattern: svc + "/{owner}/metrics/{id}"}, handle: s.metricsDelete(OwnerService, false)},
		{Route: Route{Op: "service_methods.list", Method: http.MethodGet, Pattern: svc + "/{owner}/metrics/{metric}/methods"}, handle: s.metricsList(OwnerService, true)},
		{Route: Route{Op: "service_methods.create", Method: http.MethodPost, Pattern: svc + "/{owner}/metrics/{metric}/methods"}, wrapper: "metric", handle: s.metricsCreate(OwnerService, true)},
		{Route: Route{Op: "service_methods.read", Method: http.MethodGet, Pattern: svc + "/{owner}/metrics/{metric}/methods/{id}"}, handle: s.metricsRead(OwnerService, true)},
		{Route: Route{Op: "service_methods.update", Method: http.MethodPut, Pattern: svc + "/{owner}/metrics/{metric}/methods/{id}"}, wrapper: "metric", handle: s.metricsUpdate(OwnerService, true)},
		{Route: Route{Op: "service_methods.delete", Method: http.MethodDelete, Pattern: svc + "/{owner}/metrics/{metric}/methods/{id}"}, handle: s.metricsDelete(OwnerService, true)},
		{Route: Route{Op: "backend_metrics.list", Method: http.MethodGet, Pattern: be + "/{owner}/metrics", JSONOnly: true}, handle: s.metricsList(OwnerBackend, false)},
		{Route: Route{Op: "backend_metrics.create", Method: http.MethodPost, Pattern: be + "/{owner}/metrics", JSONOnly: true}, wrapper: "metric", handle: s.metricsCreate(OwnerBackend, false)},
		{Route: Route{Op: "backend_metrics.read", Method: http.MethodGet, Pattern: be + "/{owner}/metrics/{id}", JSONOnly: true}, handle: s.metricsRead(OwnerBackend, false)},
		{Route: Route{Op: "backend_metrics.update", Method: http.MethodPut, Pattern: be + "/{owner}/metrics/{id}", JSONOnly: true}, wrapper: "metric", handle: s.metricsUpdate(OwnerBackend, false)},
		{Route: Route{Op: "backend_metrics.delete", Method: http.MethodDelete, Pattern: be + "/{owner}/metrics/{id}", JSONOnly: true}, handle: s.metricsDelete(OwnerBackend, false)},
		{Route: Route{Op: "backend_methods.list", Method: http.MethodGet, Pattern: be + "/{owner}/metrics/{metric}/methods", JSONOnly: true}, handle: s.metricsList(OwnerBackend, true)},
		{Route: Route{Op: "backend_methods.create", Method: http.MethodPost, Pattern: be + "/{owner}/metrics/{metric}/methods", JSONOnly: true}, wrapper: "metric", handle: s.metricsCreate(OwnerBackend, true)},
		{Route: Route{Op: "backend_methods.read", Method: http.MethodGet, Pattern: be + "/{owner}/metrics/{metric}/methods/{id}", JSONOnly: true}, handle: s.metricsRead(OwnerBackend, true)},
		{Route: Route{Op: "backend_methods.update", Method: http.MethodPut, Pattern: be + "/{owner}/metrics/{metric}/methods/{id}", JSONOnly: true}, wrapper: "metric", handle: s.metricsUpdate(OwnerBackend, true)},
		{Route: Route{Op: "backend_methods.delete", Method: http.MethodDelete, Pattern: be + "/{owner}/metrics/{metric}/methods/{id}", JSONOnly: true}, handle: s.metricsDelete(OwnerBackend, true)},
		// Mapping rules.
		{Route: Route{Op: "service_mapping_rules.list", Method: http.MethodGet, Pattern: svc + "/{owner}/proxy/mapping_rules"}, handle: s.rulesList(OwnerService)},
		{Route: Route{Op: "service_mapping_rules.create", Method: http.MethodPost, Pattern: svc + "/{owner}/proxy/mapping_rules"}, wrapper: "mapping_rule", handle: s.rulesCreate(OwnerService)},
		{Route: Route{Op: "service_mapping_rules.read", Method: http.MethodGet, Pattern: svc + "/{owner}/proxy/mapping_rules/{id}"}, handle: s.rulesRead(OwnerService)},
		{Route: Route{Op: "service_mapping_rules.update", Method: http.MethodPatch, Pattern: svc + "/{owner}/proxy/mapping_rules/{id}"}, wrapper: "mapping_rule", handle: s.rulesUpdate(OwnerService)},
		{Route: Route{Op: "service_mapping_rules.update", Method: http.MethodPut, Pattern: svc + "/{owner}/proxy/mapping_rules/{id}", SpecGap: gapPutUpdate}, wrapper: "mapping_rule", handle: s.rulesUpdate(OwnerService)},
		{Route: Route{Op: "service_mapping_rules.delete", Method: http.MethodDelete, Pattern: svc + "/{owner}/proxy/mapping_rules/{id}"}, handle: s.rulesDelete(OwnerService)},
		{Route: Route{Op: "backend_mapping_rules.list", Method: http.MethodGet, Pattern: be + "/{owner}/mapping_rules", JSONOnly: true}, handle: s.rulesList(OwnerBackend)},
		{Route: Route{Op: "backend_mapping_rules.create", Method: http.MethodPost, Pattern: be + "/{owner}/mapping_rules", JSONOnly: true}, wrapper: "mapping_rule", handle: s.rulesCreate(OwnerBackend)},
		{Route: Route{Op: "backend_mapping_rules.read", Method: http.MethodGet, Pattern: be + "/{owner}/mapping_rules/{id}", JSONOnly: true}, handle: s.rulesRead(OwnerBackend)},
		{Route: Route{Op: "backend_mapping_rules.update", Method: http.MethodPut, Pattern: be + "/{owner}/mapping_rules/{id}", JSONOnly: true}, wrapper: "mapping_rule", handle: s.rulesUpdate(OwnerBackend)},
		{Route: Route{Op: "backend_mapping_rules.delete", Method: http.MethodDelete, Pattern: be + "/{owner}/mapping_rules/{id}", JSONOnly: true}, handle: s.rulesDelete(OwnerBackend)},
		// Backend usages (JSON only).
		{Route: Route{Op: "backend_usages.list", Method: http.MethodGet, Pattern: svc + "/{sid}/backend_usages", JSONOnly: true}, handle: s.usagesList},
		{Route: Route{Op: "backend_usages.create", Method: http.MethodPost, Pattern: svc + "/{sid}/backend_usages", JSONOnly: true}, wrapper: "backend_api_config", handle: s.usagesCreate},
		{Route: Route{Op: "backend_usages.read", Method: http.MethodGet, Pattern: svc + "/{sid}/backend_usages/{id}", JSONOnly: true}, handle: s.usagesRead},
		{Route: Route{Op: "backend_usages.update", Method: http.MethodPut, Pattern: svc + "/{sid}/backend_usages/{id}", JSONOnly: true}, wrapper: "backend_api_config", handle: s.usagesUpdate},
		{Route: Route{Op: "backend_usages.delete", Method: http.MethodDelete, Pattern: svc + "/{sid}/backend_usages/{id}", JSONOnly: true}, handle: s.usagesDelete},
		// Gateway: proxy, policies, configs.
		{Route: Route{Op: "proxy.read", Method: http.MethodGet, Pattern: svc + "/{sid}/proxy"}, handle: s.proxyRead},
		{Route: Route{Op: "proxy.update", Method: http.MethodPatch, Pattern: svc + "/{sid}/proxy"}, wrapper: "proxy", handle: s.proxyUpdate},
		{Route: Route{Op: "proxy.update", Method: http.MethodPut, Pattern: svc + "/{sid}/proxy", SpecGap: gapPutUpdate}, wrapper: "proxy", handle: s.proxyUpdate},
		{Route: Route{Op: "proxy.deploy", Method: http.MethodPost, Pattern: svc + "/{sid}/proxy/deploy"}, handle: s.proxyDeploy},
		{Route: Route{Op: "policies.read", Method: http.MethodGet, Pattern: svc + "/{sid}/proxy/policies"}, handle: s.policiesRead},
		{Route: Route{Op: "policies.update", Method: http.MethodPut, Pattern: svc + "/{sid}/proxy/policies"}, wrapper: "proxy", handle: s.policiesUpdate},
		{Route: Route{Op: "proxy_configs.list", Method: http.MethodGet, Pattern: svc + "/{sid}/proxy/configs/{env}", JSONOnly: true}, handle: s.configsList},
		{Route: Route{Op: "proxy_configs.latest", Method: http.MethodGet, Pattern: svc + "/{sid}/proxy/configs/{env}/latest", JSONOnly: true}, handle: s.configsLatest},
		{Route: Route{Op: "proxy_configs.read", Method: http.MethodGet, Pattern: svc + "/{sid}/proxy/configs/{env}/{version}", JSONOnly: true}, handle: s.configsRead},
		{Route: Route{Op: "proxy_configs.promote", Method: http.MethodPost, Pattern: svc + "/{sid}/proxy/configs/{env}/{version}/promote", JSONOnly: true}, handle: s.configsPromote},
		// Application plans, limits, pricing rules.
		{Route: Route{Op: "application_plans.list_all", Method: http.MethodGet, Pattern: "/admin/api/application_plans"}, handle: s.plansListAll(PlanApplication)},
		{Route: Route{Op: "application_plans.list", Method: http.MethodGet, Pattern: svc + "/{sid}/application_plans"}, handle: s.plansList(PlanApplication)},
		{Route: Route{Op: "application_plans.create", Method: http.MethodPost, Pattern: svc + "/{sid}/application_plans"}, wrapper: "application_plan", handle: s.plansCreate(PlanApplication)},
		{Route: Route{Op: "application_plans.read", Method: http.MethodGet, Pattern: svc + "/{sid}/application_plans/{id}"}, handle: s.plansRead(PlanApplication)},
		{Route: Route{Op: "application_plans.update", Method: http.MethodPut, Pattern: svc + "/{sid}/application_plans/{id}"}, wrapper: "application_plan", handle: s.plansUpdate(PlanApplication)},
		{Route: Route{Op: "application_plans.delete", Method: http.MethodDelete, Pattern: svc + "/{sid}/application_plans/{id}"}, handle: s.plansDelete(PlanApplication)},
		{Route: Route{Op: "application_plans.default", Method: http.MethodPut, Pattern: svc + "/{sid}/application_plans/{id}/default"}, handle: s.plansDefault(PlanApplication)},
		{Route: Route{Op: "limits.list", Method: http.MethodGet, Pattern: plan + "/limits"}, handle: s.limitsList},
		{Route: Route{Op: "limits.list_metric", Method: http.MethodGet, Pattern: plan + "/metrics/{metric}/limits"}, handle: s.limitsListMetric},
		{Route: Route{Op: "limits.create", Method: http.MethodPost, Pattern: plan + "/metrics/{metric}/limits"}, wrapper: "usage_limit", handle: s.limitsCreate},
		{Route: Route{Op: "limits.read", Method: http.MethodGet, Pattern: plan + "/metrics/{metric}/limits/{id}"}, handle: s.limitsRead},
		{Route: Route{Op: "limits.update", Method: http.MethodPut, Pattern: plan + "/metrics/{metric}/limits/{id}"}, wrapper: "usage_limit", handle: s.limitsUpdate},
		{Route: Route{Op: "limits.delete", Method: http.MethodDelete, Pattern: plan + "/metrics/{metric}/limits/{id}"}, handle: s.limitsDelete},
		{Route: Route{Op: "pricing_rules.list", Method: http.MethodGet, Pattern: plan + "/pricing_rules"}, handle: s.pricingList},
		{Route: Route{Op: "pricing_rules.list_metric", Method: http.MethodGet, Pattern: plan + "/metrics/{metric}/pricing_rules"}, handle: s.pricingListMetric},
		{Route: Route{Op: "pricing_rules.create", Method: http.MethodPost, Pattern: plan + "/metrics/{metric}/pricing_rules"}, wrapper: "pricing_rule", handle: s.pricingCreate},
		{Route: Route{Op: "pricing_rules.delete", Method: http.MethodDelete, Pattern: plan + "/metrics/{metric}/pricing_rules/{id}"}, handle: s.pricingDelete},
		// ActiveDocs.
		{Route: Route{Op: "active_docs.list", Method: http.MethodGet, Pattern: "/admin/api/active_docs"}, handle: s.docsList},
		{Route: Route{Op: "active_docs.create", Method: http.MethodPost, Pattern: "/admin/api/active_docs"}, wrapper: "api_docs_service", handle: s.docsCreate},
		{Route: Route{Op: "active_docs.read", Method: http.MethodGet, Pattern: "/admin/api/active_docs/{id}"}, handle: s.docsRead},
		{Route: Route{Op: "active_docs.update", Method: http.MethodPut, Pattern: "/admin/api/active_docs/{id}"}, wrapper: "api_docs_service", handle: s.docsUpdate},
		{Route: Route{Op: "active_docs.delete", Method: http.MethodDelete, Pattern: "/admin/api/active_docs/{id}"}, handle: s.docsDelete},
		// Developer accounts, service plans, subscriptions.
		{Route: Route{Op: "accounts.list", Method: http.MethodGet, Pattern: "/admin/api/accounts"}, handle: s.accountsList},
		{Route: Route{Op: "accounts.read", Method: http.MethodGet, Pattern: "/admin/api/accounts/{id}"}, handle: s.accountsRead},
		{Route: Route{Op: "service_plans.list_all", Method: http.MethodGet, Pattern: "/admin/api/service_plans"}, handle: s.plansListAll(PlanService)},
		{Route: Route{Op: "service_plans.list", Method: http.MethodGet, Pattern: svc + "/{sid}/service_plans"}, handle: s.plansList(PlanService)},
		{Route: Route{Op: "service_plans.create", Method: http.MethodPost, Pattern: svc + "/{sid}/service_plans"}, wrapper: "service_plan", handle: s.plansCreate(PlanService)},
		{Route: Route{Op: "service_plans.read", Method: http.MethodGet, Pattern: svc + "/{sid}/service_plans/{id}"}, handle: s.plansRead(PlanService)},
		{Route: Route{Op: "service_plans.default", Method: http.MethodPut, Pattern: svc + "/{sid}/service_plans/{id}/default"}, handle: s.plansDefault(PlanService)},
		{Route: Route{Op: "service_subscriptions.list", Method: http.MethodGet, Pattern: "/admin/api/accounts/{aid}/service_subscriptions", JSONOnly: true}, handle: s.subsList},
		{Route: Route{Op: "service_subscriptions.create", Method: http.MethodPost, Pattern: "/admin/api/accounts/{aid}/service_subscriptions", JSONOnly: true}, wrapper: "service_subscription", handle: s.subsCreate},
		{Route: Route{Op: "service_subscriptions.read", Method: http.MethodGet, Pattern: "/admin/api/accounts/{aid}/service_subscriptions/{id}", JSONOnly: true}, handle: s.subsRead},
		{Route: Route{Op: "service_subscriptions.delete", Method: http.MethodDelete, Pattern: "/admin/api/accounts/{aid}/service_subscriptions/{id}", JSONOnly: true}, handle: s.subsDelete},
		// Provider account, settings, developer-portal SSO.
		{Route: Route{Op: "provider.read", Method: http.MethodGet, Pattern: "/admin/api/provider"}, handle: s.providerRead},
		{Route: Route{Op: "provider.update", Method: http.MethodPut, Pattern: "/admin/api/provider"}, wrapper: "account", handle: s.providerUpdate},
		{Route: Route{Op: "settings.read", Method: http.MethodGet, Pattern: "/admin/api/settings", JSONOnly: true}, handle: s.settingsRead},
		{Route: Route{Op: "settings.update", Method: http.MethodPut, Pattern: "/admin/api/settings", JSONOnly: true}, wrapper: "settings", handle: s.settingsUpdate},
		{Route: Route{Op: "authentication_providers.list", Method: http.MethodGet, Pattern: "/admin/api/authentication_providers"}, handle: s.authProvidersList},
		{Route: Route{Op: "authentication_providers.create", Method: http.MethodPost, Pattern: "/admin/api/authentication_providers"}, wrapper: "authentication_provider", handle: s.authProvidersCreate},
		{Route: Route{Op: "authentication_providers.read", Method: http.MethodGet, Pattern: "/admin/api/authentication_providers/{id}"}, handle: s.authProvidersRead},
		{Route: Route{Op: "authentication_providers.update", Method: http.MethodPut, Pattern: "/admin/api/authentication_providers/{id}"}, wrapper: "authentication_provider", handle: s.authProvidersUpdate},
	} {
		s.handle(rt)
	}
}
