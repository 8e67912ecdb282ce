"""The API family: any OpenAI-compatible chat server asked with a prompt template."""
