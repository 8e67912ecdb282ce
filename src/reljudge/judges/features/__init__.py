"""Features shared by the stacks: lexical overlap relative to the query's candidates, and static token vectors."""
