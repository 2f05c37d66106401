"""What the API does: one module per resource, called by the controllers."""
