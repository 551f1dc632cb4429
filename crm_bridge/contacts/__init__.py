"""Contacts: who the customer is, across channels."""
