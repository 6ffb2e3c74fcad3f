"""Channel adapters: platform events in, the one inbound type to the core, replies out."""
