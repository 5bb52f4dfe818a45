"""Input hardening shared by every area: fields that refuse what no column can hold."""
