/*
 * json.h - a small JSON reader for the tests (test-vectors/protocol.json):
 * parses a whole text into a fixed pool of nodes that point into the text.
 * Strings keep their escapes until json_string() copies them out.
 */
#ifndef WW_JSON_H
#define WW_JSON_H

#include <stdbool.h>
#include <stddef.h>

typedef enum { JSON_NULL, JSON_FALSE, JSON_TRUE, JSON_NUMBER, JSON_STRING, JSON_ARRAY, JSON_OBJECT } json_type_t;

typedef struct {
    json_type_t type;
    const char *key;   /* member name (raw) when the parent is an object */
    size_t key_len;
    const char *text;  /* string contents (raw, without quotes) */
    size_t text_len;
    double number;
    int first;         /* first child, -1 if none */
    int next;          /* next sibling, -1 if none */
    int count;         /* children */
} json_node_t;

typedef struct {
    json_node_t *nodes;
    int capacity;
    int used;
    const char *error;  /* set when parsing fails */
    size_t error_at;    /* byte offset of the error */
} json_doc_t;

/* Returns the root node index, or -1 (doc->error says why). */
int json_parse(json_doc_t *doc, const char *text, size_t len);

/* Member of an object by name, or -1. */
int json_get(const json_doc_t *doc, int object, const char *name);
/* Element i of an array (or member i of an object), or -1. */
int json_at(const json_doc_t *doc, int container, int i);
/* Copies a string node, unescaped, NUL-terminated; false if not a string
 * or it does not fit. */
bool json_string(const json_doc_t *doc, int node, char *out, size_t cap);
/* Copies a member name, NUL-terminated. */
bool json_key(const json_doc_t *doc, int node, char *out, size_t cap);

#endif /* WW_JSON_H */
