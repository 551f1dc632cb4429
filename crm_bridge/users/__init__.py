"""Agents and admins."""
