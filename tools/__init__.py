"""Host-side tools: onlydocker/ is the launcher behind ./kvm, tests/ its unit tests."""
