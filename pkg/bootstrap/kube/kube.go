// Package kube ensures the Kubernetes objects of the bootstrap job: it creates an
// object when absent, updates only the fields the job owns when they drifted, and
// leaves alone an object that someone else manages (one without the job's
// managed-by label). It also reads Secret keys with errors that name the Secret and
// the key, never the value.
package kube

import (
	"context"
	"errors"
	"fmt"
	"reflect"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/maas-io/maas-webhook/pkg/bootstrap/report"
)

const (
	// ManagedByLabel marks the objects the bootstrap job created and may update.
	ManagedByLabel = "app.kubernetes.io/managed-by"
	// ManagedByValue is the value of ManagedByLabel on the job's objects.
	ManagedByValue = "maas-webhook"
)

// ReasonUserManaged is the reason of a skip of an object that lacks ManagedByLabel.
const ReasonUserManaged = "exists without label " + ManagedByLabel + "=" + ManagedByValue + ", left as its owner manages it"

// ErrSecretKey is wrapped by ReadSecretKey's errors for a missing Secret, a missing
// key and an empty value.
var ErrSecretKey = errors.New("secret key unavailable")

// IsManaged reports whether obj carries the job's managed-by label.
func IsManaged(obj metav1.Object) bool { return obj.GetLabels()[ManagedByLabel] == ManagedByValue }

// Object is one object a step ensures.
type Object[T client.Object] struct {
	// Kind names the object's kind in reports, for example "APIManager".
	Kind string
	// Desired is the complete object to create, name and namespace set. Ensure adds
	// ManagedByLabel to it.
	Desired T
	// Drift sets the fields the job owns on live to their desired values and returns
	// the names of those that differed, in a stable order.
	Drift func(live T) []string
	// Adopt makes Ensure update an object without ManagedByLabel too (and label it),
	// for objects that only the job writes, such as the Secret it stores output in.
	Adopt bool
}

// Name is "namespace/name" of an object, as reports and errors name it.
func Name(obj client.Object) string { return obj.GetNamespace() + "/" + obj.GetName() }

// Ensure creates o.Desired when absent and updates its owned fields when they
// drifted; in a dry run it only reads. It reports what it did.
func Ensure[T client.Object](ctx context.Context, c client.Client, dryRun bool, o Object[T]) (report.Action, error) {
	name := Name(o.Desired)
	live := empty(o.Desired)
	err := c.Get(ctx, client.ObjectKeyFromObject(o.Desired), live)
	switch {
	case apierrors.IsNotFound(err):
		desired := o.Desired.DeepCopyObject().(T)
		setLabel(desired)
		if !dryRun {
			if err := c.Create(ctx, desired); err != nil {
				return report.Action{}, fmt.Errorf("create %s %s: %w", o.Kind, name, err)
			}
		}
		return report.Action{Verb: report.VerbCreate, Kind: o.Kind, Name: name}, nil
	case err != nil:
		return report.Action{}, fmt.Errorf("get %s %s: %w", o.Kind, name, err)
	}

	managed := IsManaged(live)
	if !managed && !o.Adopt {
		return report.Action{Verb: report.VerbSkip, Kind: o.Kind, Name: name, Reason: ReasonUserManaged}, nil
	}
	fields := o.Drift(live)
	if !managed {
		setLabel(live)
		fields = append(fields, "labels")
	}
	if len(fields) == 0 {
		return report.Action{Verb: report.VerbUnchanged, Kind: o.Kind, Name: name}, nil
	}
	if !dryRun {
		// Update carries live's resourceVersion: a concurrent writer makes it fail
		// instead of being overwritten.
		if err := c.Update(ctx, live); err != nil {
			return report.Action{}, fmt.Errorf("update %s %s: %w", o.Kind, name, err)
		}
	}
	return report.Action{Verb: report.VerbUpdate, Kind: o.Kind, Name: name, Fields: fields}, nil
}

// empty returns a zero object of desired's type, keeping the apiVersion and kind of an
// unstructured one (decoding into a used object would keep fields the server lacks).
func empty[T client.Object](desired T) T {
	obj := reflect.New(reflect.TypeOf(desired).Elem()).Interface().(T)
	if u, ok := any(obj).(*unstructured.Unstructured); ok {
		u.SetGroupVersionKind(desired.GetObjectKind().GroupVersionKind())
	}
	return obj
}

func setLabel(obj client.Object) {
	labels := obj.GetLabels()
	if labels == nil {
		labels = map[string]string{}
	}
	labels[ManagedByLabel] = ManagedByValue
	obj.SetLabels(labels)
}

// ReadSecretKey returns the value of key in the Secret namespace/name. Its errors name
// the Secret and the key and wrap ErrSecretKey when either is missing or the value is
// empty; they never contain a value.
func ReadSecretKey(ctx context.Context, c client.Reader, namespace, name, key string) (string, error) {
	var s corev1.Secret
	err := c.Get(ctx, client.ObjectKey{Namespace: namespace, Name: name}, &s)
	switch {
	case apierrors.IsNotFound(err):
		return "", fmt.Errorf("read key %q of Secret %s/%s: %w: the Secret does not exist", key, namespace, name, ErrSecretKey)
	case err != nil:
		return "", fmt.Errorf("read key %q of Secret %s/%s: %w", key, namespace, name, err)
	}
	v, ok := s.Data[key]
	switch {
	case !ok:
		return "", fmt.Errorf("read key %q of Secret %s/%s: %w: the Secret has no such key", key, namespace, name, ErrSecretKey)
	case len(v) == 0:
		return "", fmt.Errorf("read key %q of Secret %s/%s: %w: the value is empty", key, namespace, name, ErrSecretKey)
	}
	return string(v), nil
}
