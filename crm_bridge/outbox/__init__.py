"""Durable outbox: CRM writes are stored with the domain change and delivered (with retries) later."""
