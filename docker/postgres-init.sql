-- Rasa's tracker store gets its own database beside crm_bridge's.
CREATE DATABASE rasa OWNER kefu;
