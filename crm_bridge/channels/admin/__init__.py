"""The admin view of the IM channels: which are configured, the URL to register, their figures."""
