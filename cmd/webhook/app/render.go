package app

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"

	"github.com/spf13/cobra"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/yaml"

	"github.com/maas-io/maas-webhook/pkg/annotations"
	"github.com/maas-io/maas-webhook/pkg/config"
	"github.com/maas-io/maas-webhook/pkg/mutate"
	"github.com/maas-io/maas-webhook/pkg/sync/plan"
)

// renderOptions are the flags of the render command.
type renderOptions struct {
	files      []string
	configFile string
	output     string
}

// renderOutputs are the values -o accepts.
var renderOutputs = []string{"yaml", "json", "patch", "plan"}

// ErrInvalidObjects is returned by render when at least one document was invalid.
var ErrInvalidObjects = errors.New("invalid InferenceServices")

func newRenderCommand() *cobra.Command {
	o := &renderOptions{}
	cmd := &cobra.Command{
		Use:   "render -f FILE [-f FILE...] [--config FILE] [-o yaml|json|patch|plan]",
		Short: "Print InferenceServices as the webhook would mutate them, without a cluster",
		Long: `render reads InferenceService documents (YAML or JSON, several per file; "-" is
standard input) and prints each one as the admission webhook would store it, or the
RFC 6902 patch the webhook would return. An invalid maas.io annotation prints the message
the webhook would deny the object with, and the command exits non-zero: a GitOps pipeline
can check manifests before they reach a cluster. Namespace opt-out labels are not known
offline; object labels are honoured.

-o plan prints the 3scale state the sync controller would create for each published
model: backend, product, policy chain, methods and mapping rules, metrics, plans with
limits and prices, ActiveDocs. Offline, a model without status.address.url is planned
with KServe's standard-mode address, http://<name>-predictor.<namespace>.svc.cluster.local,
unless maas.io/backend-url says otherwise; a maas.io/openapi ConfigMap cannot be read
offline, so such a model is refused.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := o.validate(); err != nil {
				return err
			}
			return o.run(cmd.InOrStdin(), cmd.OutOrStdout(), cmd.ErrOrStderr())
		},
	}
	cmd.Flags().StringArrayVarP(&o.files, "filename", "f", nil, `file with InferenceService documents, or "-" for standard input`)
	cmd.Flags().StringVar(&o.configFile, "config", "", "controller configuration file (plans and defaults); built-in defaults when empty")
	cmd.Flags().StringVarP(&o.output, "output", "o", "yaml", "output format: yaml, json, patch or plan")
	return cmd
}

func (o *renderOptions) validate() error {
	if len(o.files) == 0 {
		return errors.New("-f is required: a file, or - for standard input")
	}
	if !slices.Contains(renderOutputs, o.output) {
		return fmt.Errorf("-o %q is not supported: use yaml, json, patch or plan", o.output)
	}
	return nil
}

func (o *renderOptions) run(stdin io.Reader, stdout, stderr io.Writer) error {
	cfg, err := loadConfig(o.configFile)
	if err != nil {
		return err
	}
	defaults := cfg.AnnotationDefaults()
	w := bufio.NewWriter(stdout)
	defer w.Flush()
	invalid, docs := 0, 0
	for _, f := range o.files {
		objs, err := readObjects(f, stdin)
		if err != nil {
			return err
		}
		for _, obj := range objs {
			if obj.GetNamespace() == "" {
				obj.SetNamespace("default") // where kubectl would create it
			}
			res, err := mutate.Mutate(obj, nil, defaults)
			if err != nil {
				invalid++
				fmt.Fprintln(stderr, mutate.Message(obj.GetKind(), obj.GetNamespace(), obj.GetName(), err))
				continue
			}
			if o.output == "plan" {
				err = writePlan(w, res, cfg, docs)
			} else {
				err = writeResult(w, o.output, res, docs)
			}
			if errors.Is(err, errUnplannable) {
				invalid++
				fmt.Fprintln(stderr, err)
				continue
			}
			if err != nil {
				return err
			}
			docs++
		}
	}
	if invalid > 0 {
		return fmt.Errorf("%d of %d: %w", invalid, invalid+docs, ErrInvalidObjects)
	}
	return nil
}

// loadConfig reads the configuration file, or returns the defaults when path is empty.
func loadConfig(path string) (config.Config, error) {
	if path == "" {
		return config.Parse([]byte("{}"))
	}
	return config.Load(path)
}

// readObjects decodes every non-empty YAML or JSON document of a file ("-" is stdin).
func readObjects(path string, stdin io.Reader) ([]*unstructured.Unstructured, error) {
	r := stdin
	if path != "-" {
		f, err := os.Open(path)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		r = f
	}
	dec := utilyaml.NewYAMLOrJSONDecoder(r, 4096)
	var out []*unstructured.Unstructured
	for i := 1; ; i++ {
		var m map[string]any
		if err := dec.Decode(&m); err != nil {
			if errors.Is(err, io.EOF) {
				return out, nil
			}
			return nil, fmt.Errorf("%s: document %d: %w", path, i, err)
		}
		if len(m) == 0 {
			continue
		}
		out = append(out, &unstructured.Unstructured{Object: m})
	}
}

func writeResult(w io.Writer, format string, res mutate.Result, index int) error {
	var v any = res.Object.Object
	if format == "patch" {
		v = res.Patch
		if len(res.Patch) == 0 {
			v = []any{} // "[]", not "null", for a document that needs no change
		}
	}
	switch format {
	case "yaml":
		b, err := yaml.Marshal(v)
		if err != nil {
			return err
		}
		if index > 0 {
			fmt.Fprintln(w, "---")
		}
		_, err = w.Write(b)
		return err
	default:
		b, err := json.MarshalIndent(v, "", "  ")
		if err != nil {
			return err
		}
		_, err = fmt.Fprintf(w, "%s\n", b)
		return err
	}
}

// errUnplannable is wrapped by writePlan's error for a model whose plan cannot be made
// offline.
var errUnplannable = errors.New("cannot be planned")

// writePlan prints the desired 3scale state of a published model, or a comment saying
// why there is none.
func writePlan(w io.Writer, res mutate.Result, cfg config.Config, index int) error {
	obj := res.Object
	if index > 0 {
		fmt.Fprintln(w, "---")
	}
	ref := obj.GetNamespace() + "/" + obj.GetName()
	if res.Skipped != "" {
		_, err := fmt.Fprintf(w, "# %s: not published (%s)\n", ref, res.Skipped)
		return err
	}
	view := plan.ViewFromObject(obj)
	view.Ready = true
	if view.AddressURL == "" && view.PredictorURL == "" {
		view.AddressURL = "http://" + obj.GetName() + "-predictor." + obj.GetNamespace() + ".svc.cluster.local"
	}
	if v := obj.GetAnnotations()[annotations.OpenAPI]; v != "" && v != annotations.OpenAPINone {
		return fmt.Errorf("InferenceService %s %w: its OpenAPI spec is in ConfigMap %s, which render cannot read", ref, errUnplannable, v)
	}
	d, err := plan.Plan(view, cfg)
	if err != nil {
		return fmt.Errorf("InferenceService %s %w: %w", ref, errUnplannable, err)
	}
	b, err := plan.MarshalYAML(d)
	if err != nil {
		return err
	}
	if _, err := fmt.Fprintf(w, "# %s\n", ref); err != nil {
		return err
	}
	_, err = w.Write(b)
	return err
}
