package plan

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/maas-io/maas-webhook/pkg/annotations"
)

// openAPIVersion is the OpenAPI version of generated documents: ActiveDocs renders 3.0.
const openAPIVersion = "3.0.3"

type obj = map[string]any

// GenerateOpenAPI returns an OpenAI-compatible OpenAPI document, as JSON, for the given
// routes. It has no servers: the applier adds the production endpoint once 3scale has
// assigned it. Keys are sorted, so the output is deterministic.
func GenerateOpenAPI(title, description string, routes []annotations.Route) (string, error) {
	paths, used := obj{}, obj{}
	for _, r := range routes {
		op, ok := operations[r.Path]
		if !ok {
			return "", fmt.Errorf("generate OpenAPI: no operation for %s %s", r.Method, r.Path)
		}
		paths[r.Path] = obj{strings.ToLower(r.Method): op(r)}
		for _, name := range schemaDeps[r.Path] {
			used[name] = schemas[name]
		}
	}
	info := obj{"title": title, "version": "1.0"}
	if description != "" {
		info["description"] = description
	}
	doc := obj{
		"openapi": openAPIVersion,
		"info":    info,
		"paths":   paths,
		"security": []any{
			obj{"apiKey": []any{}},
		},
		"components": obj{
			"securitySchemes": obj{
				// APIcast reads the key from the Authorization header, Bearer or Basic.
				"apiKey": obj{"type": "http", "scheme": "bearer", "description": "The application's API key"},
			},
			"schemas": used,
		},
	}
	b, err := json.MarshalIndent(doc, "", "  ")
	if err != nil {
		return "", fmt.Errorf("generate OpenAPI: %w", err)
	}
	return string(b), nil
}

func ref(name string) obj { return obj{"$ref": "#/components/schemas/" + name} }

// jsonOp is an operation with a JSON request body (nil for none) and JSON response.
func jsonOp(id, summary, request, response string) func(annotations.Route) obj {
	return func(annotations.Route) obj {
		op := obj{
			"operationId": id,
			"summary":     summary,
			"responses": obj{
				"200": obj{"description": "OK", "content": obj{"application/json": obj{"schema": ref(response)}}},
				"401": obj{"description": "Missing or invalid API key"},
				"429": obj{"description": "Usage limit exceeded"},
			},
		}
		if request != "" {
			op["requestBody"] = obj{"required": true, "content": obj{"application/json": obj{"schema": ref(request)}}}
		}
		return op
	}
}

// operations are the OpenAI-compatible operations by path.
var operations = map[string]func(annotations.Route) obj{
	"/v1/chat/completions": jsonOp("createChatCompletion", "Creates a model response for the given chat conversation", "ChatCompletionRequest", "ChatCompletionResponse"),
	"/v1/completions":      jsonOp("createCompletion", "Creates a completion for the given prompt", "CompletionRequest", "CompletionResponse"),
	"/v1/embeddings":       jsonOp("createEmbedding", "Creates an embedding vector representing the input text", "EmbeddingRequest", "EmbeddingResponse"),
	"/v1/models":           jsonOp("listModels", "Lists the models the endpoint serves", "", "ModelList"),
}

// schemaDeps are the schemas each path's operation refers to.
var schemaDeps = map[string][]string{
	"/v1/chat/completions": {"ChatCompletionRequest", "ChatCompletionResponse", "ChatMessage", "Usage"},
	"/v1/completions":      {"CompletionRequest", "CompletionResponse", "Usage"},
	"/v1/embeddings":       {"EmbeddingRequest", "EmbeddingResponse", "Usage"},
	"/v1/models":           {"ModelList"},
}

func str() obj         { return obj{"type": "string"} }
func integer() obj     { return obj{"type": "integer"} }
func number() obj      { return obj{"type": "number"} }
func boolean() obj     { return obj{"type": "boolean"} }
func array(it obj) obj { return obj{"type": "array", "items": it} }

func object(required []string, props obj) obj {
	o := obj{"type": "object", "properties": props}
	if len(required) > 0 {
		req := make([]any, len(required))
		for i, r := range required {
			req[i] = r
		}
		o["required"] = req
	}
	return o
}

var sampling = obj{
	"model": str(), "max_tokens": integer(), "temperature": number(), "top_p": number(),
	"n": integer(), "stream": boolean(), "stop": obj{"oneOf": []any{str(), array(str())}},
}

func with(base obj, extra obj) obj {
	out := obj{}
	for k, v := range base {
		out[k] = v
	}
	for k, v := range extra {
		out[k] = v
	}
	return out
}

var schemas = obj{
	"Usage": object([]string{"prompt_tokens", "total_tokens"}, obj{
		"prompt_tokens": integer(), "completion_tokens": integer(), "total_tokens": integer(),
	}),
	"ChatMessage": object([]string{"role", "content"}, obj{
		"role": obj{"type": "string", "enum": []any{"system", "user", "assistant", "tool"}}, "content": str(),
	}),
	"ChatCompletionRequest": object([]string{"model", "messages"}, with(sampling, obj{"messages": array(ref("ChatMessage"))})),
	"ChatCompletionResponse": object([]string{"id", "choices"}, obj{
		"id": str(), "object": str(), "created": integer(), "model": str(),
		"choices": array(object(nil, obj{"index": integer(), "message": ref("ChatMessage"), "finish_reason": str()})),
		"usage":   ref("Usage"),
	}),
	"CompletionRequest": object([]string{"model", "prompt"}, with(sampling, obj{"prompt": obj{"oneOf": []any{str(), array(str())}}})),
	"CompletionResponse": object([]string{"id", "choices"}, obj{
		"id": str(), "object": str(), "created": integer(), "model": str(),
		"choices": array(object(nil, obj{"index": integer(), "text": str(), "finish_reason": str()})),
		"usage":   ref("Usage"),
	}),
	"EmbeddingRequest": object([]string{"model", "input"}, obj{
		"model": str(), "input": obj{"oneOf": []any{str(), array(str())}}, "encoding_format": str(),
	}),
	"EmbeddingResponse": object([]string{"data"}, obj{
		"object": str(), "model": str(),
		"data":  array(object(nil, obj{"index": integer(), "object": str(), "embedding": array(number())})),
		"usage": ref("Usage"),
	}),
	"ModelList": object([]string{"data"}, obj{
		"object": str(),
		"data":   array(object([]string{"id"}, obj{"id": str(), "object": str(), "created": integer(), "owned_by": str()})),
	}),
}
