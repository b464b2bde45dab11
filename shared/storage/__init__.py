"""MongoDB plumbing: client, inbox (processed events) and transactional outbox."""
