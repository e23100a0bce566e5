"""One module per flow. Flows take an AuthContext and plain inputs, raise AuthError, and
return plain results; the JSON API and the pages both call them and build no rules."""
