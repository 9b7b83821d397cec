package threescale

import (
	"context"
	"fmt"
	"strconv"

	porta "github.com/3scale/3scale-porta-go-client/client"
)

// Gateway environments as the proxy-config endpoints name them ("sandbox" is what
// the admin portal calls staging).
const (
	EnvStaging    = "sandbox"
	EnvProduction = "production"
)

// Proxy reads a product's gateway settings.
func (c *Client) Proxy(ctx context.Context, productID int64) (*porta.ProxyItem, error) {
	var out *porta.ProxyJSON
	err := c.callPorta(ctx, "ReadProxy", productObj(productID), func(pc *porta.ThreeScaleClient) (err error) {
		out, err = pc.ProductProxy(productID)
		return err
	})
	return elem(out, err, func(p *porta.ProxyJSON) *porta.ProxyItem { return &p.Element })
}

// UpdateProxy updates a product's gateway settings (credentials_location,
// auth_user_key, endpoint, sandbox_endpoint, error_*, ...). Endpoints are sent
// normalised with their explicit port, as 3scale stores them. 3scale also deploys
// the result to staging.
func (c *Client) UpdateProxy(ctx context.Context, productID int64, params porta.Params) (*porta.ProxyItem, error) {
	send := porta.Params{}
	for k, v := range params {
		if k == "endpoint" || k == "sandbox_endpoint" {
			norm, err := NormalizeEndpoint(v)
			if err != nil {
				return nil, &Error{Op: "UpdateProxy", Object: productObj(productID), Message: err.Error()}
			}
			v = norm
		}
		send[k] = v
	}
	var out *porta.ProxyJSON
	err := c.callPorta(ctx, "UpdateProxy", productObj(productID), func(pc *porta.ThreeScaleClient) (err error) {
		out, err = pc.UpdateProductProxy(productID, send)
		return err
	})
	return elem(out, err, func(p *porta.ProxyJSON) *porta.ProxyItem { return &p.Element })
}

// Policies reads a product's policy chain.
func (c *Client) Policies(ctx context.Context, productID int64) ([]porta.PolicyConfig, error) {
	var out *porta.PoliciesConfigList
	err := c.callPorta(ctx, "ReadPolicies", productObj(productID), func(pc *porta.ThreeScaleClient) (err error) {
		out, err = pc.Policies(productID)
		return err
	})
	if err != nil {
		return nil, err
	}
	return out.Policies, nil
}

// UpdatePolicies replaces a product's policy chain; 3scale appends the apicast
// policy when it is missing and deploys the result to staging.
func (c *Client) UpdatePolicies(ctx context.Context, productID int64, chain []porta.PolicyConfig) ([]porta.PolicyConfig, error) {
	var out *porta.PoliciesConfigList
	err := c.callPorta(ctx, "UpdatePolicies", productObj(productID), func(pc *porta.ThreeScaleClient) (err error) {
		out, err = pc.UpdatePolicies(productID, &porta.PoliciesConfigList{Policies: chain})
		return err
	})
	if err != nil {
		return nil, err
	}
	return out.Policies, nil
}

// DeployStaging deploys the product's current configuration to staging. 3scale
// creates a new staging version only when the configuration changed.
func (c *Client) DeployStaging(ctx context.Context, productID int64) (*porta.ProxyItem, error) {
	var out *porta.ProxyJSON
	err := c.callPorta(ctx, "DeployStaging", productObj(productID), func(pc *porta.ThreeScaleClient) (err error) {
		out, err = pc.DeployProductProxy(productID)
		return err
	})
	return elem(out, err, func(p *porta.ProxyJSON) *porta.ProxyItem { return &p.Element })
}

// LatestProxyConfig reads the latest configuration of an environment (EnvStaging
// or EnvProduction); none yet is an error matching ErrNotFound.
func (c *Client) LatestProxyConfig(ctx context.Context, productID int64, env string) (*porta.ProxyConfig, error) {
	var out porta.ProxyConfigElement
	err := c.callPorta(ctx, "ReadLatestProxyConfig", fmt.Sprintf("product %d %s config", productID, env), func(pc *porta.ThreeScaleClient) (err error) {
		out, err = pc.GetLatestProxyConfig(strconv.FormatInt(productID, 10), env)
		return err
	})
	if err != nil {
		return nil, err
	}
	return &out.ProxyConfig, nil
}

// PromoteToProduction promotes a staging version to production, keeping its
// number. Promoting a version that production already has fails with an error
// matching ErrConflict.
func (c *Client) PromoteToProduction(ctx context.Context, productID int64, version int) (*porta.ProxyConfig, error) {
	var out porta.ProxyConfigElement
	obj := fmt.Sprintf("product %d config version %d", productID, version)
	err := c.callPorta(ctx, "PromoteProxyConfig", obj, func(pc *porta.ThreeScaleClient) (err error) {
		out, err = pc.PromoteProxyConfig(strconv.FormatInt(productID, 10), EnvStaging, strconv.Itoa(version), EnvProduction)
		return err
	})
	if err != nil {
		return nil, err
	}
	return &out.ProxyConfig, nil
}
