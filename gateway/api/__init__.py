"""What each API request does, free of the web framework: gateway/http/ decodes, authenticates and renders."""
