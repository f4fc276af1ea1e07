"""Who is calling (principals, tokens, JWTs) and what they may do (one privilege table)."""
