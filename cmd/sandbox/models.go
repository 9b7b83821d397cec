package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/util/wait"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	"github.com/maas-io/maas-webhook/pkg/annotations"
)

// optedOutNamespace is where an administrator has not allowed publishing.
const optedOutNamespace = "private-models"

// model is one example InferenceService and what the demo expects of it.
type model struct {
	file      string
	namespace string // overrides the file's namespace when set
	publish   bool   // expected to reach 3scale
	invalid   bool   // expected to be denied by the webhook
	obj       *unstructured.Unstructured
	denial    string
}

// models are the examples the sandbox applies.
var models = []*model{
	{file: "granite-chat.yaml", publish: true},
	{file: "embeddings.yaml", publish: true},
	{file: "invalid.yaml", invalid: true},
	{file: "granite-chat.yaml", namespace: optedOutNamespace},
}

func (m *model) ref() string { return m.obj.GetNamespace() + "/" + m.obj.GetName() }

func (s *sandbox) applyModels(ctx context.Context) error {
	namespaces := map[string]map[string]string{optedOutNamespace: {annotations.OptOut: "true"}}
	for _, m := range models {
		data, err := os.ReadFile(filepath.Join(s.root, "examples", "inferenceservices", m.file))
		if err != nil {
			return err
		}
		m.obj = &unstructured.Unstructured{}
		if err := yaml.Unmarshal(data, &m.obj.Object); err != nil {
			return fmt.Errorf("%s: %w", m.file, err)
		}
		if m.namespace != "" {
			m.obj.SetNamespace(m.namespace)
		}
		if _, ok := namespaces[m.obj.GetNamespace()]; !ok {
			namespaces[m.obj.GetNamespace()] = nil
		}
	}
	for name, labels := range namespaces {
		ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels}}
		if err := s.env.Client.Create(ctx, ns); client.IgnoreAlreadyExists(err) != nil {
			return err
		}
	}
	for _, m := range models {
		err := s.env.Client.Create(ctx, m.obj)
		switch {
		case m.invalid:
			m.denial = errorText(err)
			s.expect(err != nil && strings.Contains(m.denial, annotations.Expose) && strings.Contains(m.denial, annotations.SystemName),
				"%s is denied with a message naming %s and %s", m.ref(), annotations.Expose, annotations.SystemName)
			fmt.Fprintf(s.out, "  %-36s denied: %s\n", m.ref(), m.denial)
			continue
		case err != nil:
			return fmt.Errorf("creating %s: %w", m.ref(), err)
		}
		ann, labels := m.obj.GetAnnotations(), m.obj.GetLabels()
		if m.publish {
			s.expect(ann[annotations.SystemName] != "" && labels[annotations.Managed] == "true" && slices.Contains(m.obj.GetFinalizers(), annotations.Finalizer),
				"%s is stored with its defaults, the %s label and the %s finalizer", m.ref(), annotations.Managed, annotations.Finalizer)
			fmt.Fprintf(s.out, "  %-36s admitted with defaults: system name %s, plans %s, endpoints %s\n",
				m.ref(), ann[annotations.SystemName], ann[annotations.Plans], ann[annotations.Endpoints])
		} else {
			_, defaulted := ann[annotations.SystemName]
			s.expect(!defaulted && labels[annotations.Managed] == "", "%s in the opted-out namespace is stored untouched", m.ref())
			fmt.Fprintf(s.out, "  %-36s stored untouched (namespace labelled %s: \"true\")\n", m.ref(), annotations.OptOut)
		}
	}
	return nil
}

func errorText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// markReady does what KServe does once a model serves: Ready=True and an address.
func (s *sandbox) markReady(ctx context.Context) error {
	for _, m := range models {
		if m.invalid {
			continue
		}
		name, ns := m.obj.GetName(), m.obj.GetNamespace()
		status := map[string]any{
			"url":     fmt.Sprintf("https://%s-%s.apps.sandbox.local", name, ns),
			"address": map[string]any{"url": fmt.Sprintf("http://%s-predictor.%s.svc.cluster.local", name, ns)},
			"conditions": []any{map[string]any{
				"type": "Ready", "status": "True", "lastTransitionTime": time.Now().UTC().Format(time.RFC3339),
			}},
		}
		if err := s.env.Client.Get(ctx, client.ObjectKeyFromObject(m.obj), m.obj); err != nil {
			return err
		}
		if err := unstructured.SetNestedMap(m.obj.Object, status, "status"); err != nil {
			return err
		}
		if err := s.env.Client.Status().Update(ctx, m.obj); err != nil {
			return fmt.Errorf("updating the status of %s: %w", m.ref(), err)
		}
		fmt.Fprintf(s.out, "  %-36s Ready, address %s\n", m.ref(), status["address"].(map[string]any)["url"])
	}
	return nil
}

func (s *sandbox) waitSynced(ctx context.Context) error {
	for _, m := range models {
		if !m.publish {
			continue
		}
		var state, message string
		err := wait.PollUntilContextTimeout(ctx, 250*time.Millisecond, 2*time.Minute, true, func(ctx context.Context) (bool, error) {
			if err := s.env.Client.Get(ctx, client.ObjectKeyFromObject(m.obj), m.obj); err != nil {
				return false, err
			}
			state, message = m.obj.GetAnnotations()[annotations.StatusState], m.obj.GetAnnotations()[annotations.StatusMessage]
			return state == annotations.StateSynced, nil
		})
		s.expect(err == nil, "%s becomes %s (last state %q %s)", m.ref(), annotations.StateSynced, state, message)
		fmt.Fprintf(s.out, "  %-36s %s %s\n", m.ref(), state, message)
	}
	// The opted-out model was marked Ready too; it must never have reached 3scale.
	time.Sleep(2 * time.Second)
	for _, m := range models {
		if m.publish || m.invalid {
			continue
		}
		if err := s.env.Client.Get(ctx, client.ObjectKeyFromObject(m.obj), m.obj); err != nil {
			return err
		}
		_, touched := m.obj.GetAnnotations()[annotations.StatusState]
		s.expect(!touched, "%s (opted out) gets no status.maas.io annotations", m.ref())
	}
	return nil
}

func (s *sandbox) summarize(ctx context.Context) error {
	for _, m := range models {
		switch {
		case m.invalid:
			fmt.Fprintf(s.out, "  %s\n    refused by the webhook: %s\n", m.ref(), m.denial)
			continue
		case !m.publish:
			fmt.Fprintf(s.out, "  %s\n    opted out: not published\n", m.ref())
			continue
		}
		ann := m.obj.GetAnnotations()
		fmt.Fprintf(s.out, "  %s  (kubectl get isvc -L maas.io/state: %s)\n", m.ref(), m.obj.GetLabels()[annotations.State])
		fmt.Fprintf(s.out, "    product id %s, backend id %s\n", ann[annotations.StatusProductID], ann[annotations.StatusBackendID])
		fmt.Fprintf(s.out, "    production endpoint %s\n    staging endpoint    %s\n", ann[annotations.StatusEndpoint], ann[annotations.StatusStagingEndpoint])
		id, err := strconv.ParseInt(ann[annotations.StatusProductID], 10, 64)
		if err != nil {
			s.expect(false, "%s has a product id", m.ref())
			continue
		}
		plans, err := s.productPlans(ctx, id)
		if err != nil {
			return err
		}
		for _, p := range plans {
			fmt.Fprintf(s.out, "    plan %s\n", p)
		}
		s.expect(len(plans) > 0 && ann[annotations.StatusEndpoint] != "", "%s has published plans and a production endpoint in 3scale", m.ref())
	}

	products, err := s.client.ListProducts(ctx)
	if err != nil {
		return err
	}
	docs, err := s.client.ListActiveDocs(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintln(s.out, "  The developer portal lists:")
	for _, p := range products {
		var doc string
		for _, d := range docs {
			if d.ServiceID != nil && *d.ServiceID == p.ID && d.Published != nil && *d.Published {
				doc = ", with API docs"
			}
		}
		fmt.Fprintf(s.out, "    %s (%s)%s\n", p.Name, p.SystemName, doc)
	}
	accounts, err := s.client.ListDeveloperAccounts(ctx)
	if err != nil {
		return err
	}
	for _, a := range accounts {
		if a.ID == nil || a.OrgName == nil {
			continue
		}
		subs, err := s.client.ListServiceSubscriptions(ctx, *a.ID)
		if err != nil {
			return err
		}
		fmt.Fprintf(s.out, "    developer account %s: subscribed to %d products\n", *a.OrgName, len(subs))
	}
	return nil
}

func (s *sandbox) withdraw(ctx context.Context) error {
	m := models[0]
	systemName := m.obj.GetAnnotations()[annotations.SystemName]
	if err := s.env.Client.Delete(ctx, m.obj); err != nil {
		return err
	}
	fmt.Fprintf(s.out, "  deleted %s; waiting for the controller to withdraw product %s\n", m.ref(), systemName)
	err := wait.PollUntilContextTimeout(ctx, 250*time.Millisecond, 2*time.Minute, true, func(ctx context.Context) (bool, error) {
		err := s.env.Client.Get(ctx, client.ObjectKeyFromObject(m.obj), m.obj.DeepCopy())
		return apierrors.IsNotFound(err), client.IgnoreNotFound(err)
	})
	s.expect(err == nil, "%s is gone once its finalizer is removed", m.ref())
	exists, err := s.findProduct(ctx, systemName)
	if err != nil {
		return err
	}
	s.expect(!exists, "product %s is gone from 3scale", systemName)
	fmt.Fprintf(s.out, "  %s gone; product %s in 3scale: %v\n", m.ref(), systemName, map[bool]string{true: "still there", false: "gone"}[exists])
	return nil
}
