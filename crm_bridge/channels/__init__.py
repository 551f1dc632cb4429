"""Customer channels on IM platforms: verify and parse inbound webhooks, deliver outbound messages."""
