"""Test support: a raw asyncio HTTP/1.1 server, byte-level faults and a fake Ollama."""
