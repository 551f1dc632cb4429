"""WhatsApp Cloud API: signed webhooks with customers' messages and delivery statuses, replies through
the Graph API's /messages, agents refused outside WhatsApp's 24-hour customer service window."""
