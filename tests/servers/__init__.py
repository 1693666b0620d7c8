"""Real mail servers (Dovecot, Postfix, dnsmasq, an SMTP sink) started on loopback for the test suite."""
