"""The documents Rebill gives a customer for an issued invoice: pure, no AWS."""
