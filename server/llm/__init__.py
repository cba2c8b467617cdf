"""The LLM behind a one-method protocol, and its backends: any OpenAI-compatible endpoint, and the embedded
llama.cpp server with the bundled model."""
