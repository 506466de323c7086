"""Deployments: self-hosted model instances behind the gateway, health-checked, with keys bound to them."""
