"""kefu knowledge base: FAQ entries and hybrid (dense + lexical) retrieval."""
