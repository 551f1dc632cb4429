"""kefu CRM bridge: the database, the channels, the conversation router and the REST API."""
