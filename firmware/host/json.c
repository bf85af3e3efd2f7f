/*
 * json.c - see json.h. Recursive descent over RFC 8259 JSON.
 */
#include "json.h"

#include <stdlib.h>
#include <string.h>

typedef struct {
    json_doc_t *doc;
    const char *p;
    const char *end;
    const char *start;
    int depth;
} parser_t;

static int fail(parser_t *ps, const char *why)
{
    if (ps->doc->error == NULL) {
        ps->doc->error = why;
        ps->doc->error_at = (size_t)(ps->p - ps->start);
    }
    return -1;
}

static void skip_space(parser_t *ps)
{
    while (ps->p < ps->end && (*ps->p == ' ' || *ps->p == '\t' || *ps->p == '\n' || *ps->p == '\r')) {
        ps->p++;
    }
}

static int new_node(parser_t *ps, json_type_t type)
{
    json_doc_t *d = ps->doc;
    if (d->used >= d->capacity) {
        return fail(ps, "too many nodes");
    }
    json_node_t *n = &d->nodes[d->used];
    memset(n, 0, sizeof *n);
    n->type = type;
    n->first = -1;
    n->next = -1;
    return d->used++;
}

/* At the opening quote; sets text and len to the raw contents. */
static bool scan_string(parser_t *ps, const char **text, size_t *len)
{
    if (ps->p >= ps->end || *ps->p != '"') {
        return false;
    }
    const char *s = ++ps->p;
    while (ps->p < ps->end && *ps->p != '"') {
        if ((unsigned char)*ps->p < 0x20) {
            return false;
        }
        if (*ps->p == '\\') {
            ps->p++;
            if (ps->p >= ps->end || strchr("\"\\/bfnrtu", *ps->p) == NULL) {
                return false;
            }
        }
        ps->p++;
    }
    if (ps->p >= ps->end) {
        return false;
    }
    *text = s;
    *len = (size_t)(ps->p - s);
    ps->p++;
    return true;
}

static int parse_value(parser_t *ps);

static int parse_container(parser_t *ps, bool object)
{
    int self = new_node(ps, object ? JSON_OBJECT : JSON_ARRAY);
    int prev = -1;
    if (self < 0) {
        return -1;
    }
    if (++ps->depth > 64) {
        return fail(ps, "nested too deeply");
    }
    ps->p++;
    skip_space(ps);
    if (ps->p < ps->end && *ps->p == (object ? '}' : ']')) {
        ps->p++;
        ps->depth--;
        return self;
    }
    for (;;) {
        const char *key = NULL;
        size_t key_len = 0;
        skip_space(ps);
        if (object) {
            if (!scan_string(ps, &key, &key_len)) {
                return fail(ps, "expected a member name");
            }
            skip_space(ps);
            if (ps->p >= ps->end || *ps->p != ':') {
                return fail(ps, "expected ':'");
            }
            ps->p++;
        }
        int child = parse_value(ps);
        if (child < 0) {
            return -1;
        }
        json_node_t *c = &ps->doc->nodes[child];
        c->key = key;
        c->key_len = key_len;
        if (prev < 0) {
            ps->doc->nodes[self].first = child;
        } else {
            ps->doc->nodes[prev].next = child;
        }
        prev = child;
        ps->doc->nodes[self].count++;
        skip_space(ps);
        if (ps->p < ps->end && *ps->p == ',') {
            ps->p++;
            continue;
        }
        if (ps->p < ps->end && *ps->p == (object ? '}' : ']')) {
            ps->p++;
            ps->depth--;
            return self;
        }
        return fail(ps, object ? "expected ',' or '}'" : "expected ',' or ']'");
    }
}

static bool literal(parser_t *ps, const char *word)
{
    size_t n = strlen(word);
    if ((size_t)(ps->end - ps->p) >= n && memcmp(ps->p, word, n) == 0) {
        ps->p += n;
        return true;
    }
    return false;
}

static int parse_number(parser_t *ps)
{
    char buf[64];
    const char *s = ps->p;
    while (ps->p < ps->end && strchr("+-0123456789.eE", *ps->p) != NULL) {
        ps->p++;
    }
    size_t n = (size_t)(ps->p - s);
    if (n == 0 || n >= sizeof buf) {
        return fail(ps, "bad number");
    }
    memcpy(buf, s, n);
    buf[n] = '\0';
    char *end;
    double v = strtod(buf, &end);
    if (*end != '\0') {
        return fail(ps, "bad number");
    }
    int self = new_node(ps, JSON_NUMBER);
    if (self >= 0) {
        ps->doc->nodes[self].number = v;
    }
    return self;
}

static int parse_value(parser_t *ps)
{
    skip_space(ps);
    if (ps->p >= ps->end) {
        return fail(ps, "unexpected end");
    }
    switch (*ps->p) {
    case '{':
        return parse_container(ps, true);
    case '[':
        return parse_container(ps, false);
    case '"': {
        const char *text;
        size_t len;
        if (!scan_string(ps, &text, &len)) {
            return fail(ps, "bad string");
        }
        int self = new_node(ps, JSON_STRING);
        if (self >= 0) {
            ps->doc->nodes[self].text = text;
            ps->doc->nodes[self].text_len = len;
        }
        return self;
    }
    default:
        if (literal(ps, "null")) {
            return new_node(ps, JSON_NULL);
        }
        if (literal(ps, "true")) {
            return new_node(ps, JSON_TRUE);
        }
        if (literal(ps, "false")) {
            return new_node(ps, JSON_FALSE);
        }
        return parse_number(ps);
    }
}

int json_parse(json_doc_t *doc, const char *text, size_t len)
{
    parser_t ps = {doc, text, text + len, text, 0};
    doc->used = 0;
    doc->error = NULL;
    doc->error_at = 0;
    int root = parse_value(&ps);
    if (root < 0) {
        return -1;
    }
    skip_space(&ps);
    if (ps.p != ps.end) {
        return fail(&ps, "text after the value");
    }
    return root;
}

static bool unescape(const char *s, size_t len, char *out, size_t cap)
{
    size_t o = 0;
    for (size_t k = 0; k < len; k++) {
        char c = s[k];
        if (c == '\\') {
            c = s[++k];
            switch (c) {
            case 'b': c = '\b'; break;
            case 'f': c = '\f'; break;
            case 'n': c = '\n'; break;
            case 'r': c = '\r'; break;
            case 't': c = '\t'; break;
            case 'u': {
                char hex[5] = {0};
                if (k + 4 >= len) {
                    return false;
                }
                memcpy(hex, s + k + 1, 4);
                long v = strtol(hex, NULL, 16);
                c = v < 0x80 ? (char)v : '?'; /* the vectors are ASCII */
                k += 4;
                break;
            }
            default: break; /* " \ / */
            }
        }
        if (o + 1 >= cap) {
            return false;
        }
        out[o++] = c;
    }
    out[o] = '\0';
    return true;
}

int json_get(const json_doc_t *doc, int object, const char *name)
{
    if (object < 0 || doc->nodes[object].type != JSON_OBJECT) {
        return -1;
    }
    size_t n = strlen(name);
    for (int c = doc->nodes[object].first; c >= 0; c = doc->nodes[c].next) {
        if (doc->nodes[c].key_len == n && memcmp(doc->nodes[c].key, name, n) == 0) {
            return c;
        }
    }
    return -1;
}

int json_at(const json_doc_t *doc, int container, int i)
{
    if (container < 0 || (doc->nodes[container].type != JSON_ARRAY &&
                          doc->nodes[container].type != JSON_OBJECT)) {
        return -1;
    }
    int c = doc->nodes[container].first;
    while (c >= 0 && i-- > 0) {
        c = doc->nodes[c].next;
    }
    return c;
}

bool json_string(const json_doc_t *doc, int node, char *out, size_t cap)
{
    if (node < 0 || doc->nodes[node].type != JSON_STRING) {
        return false;
    }
    return unescape(doc->nodes[node].text, doc->nodes[node].text_len, out, cap);
}

bool json_key(const json_doc_t *doc, int node, char *out, size_t cap)
{
    if (node < 0 || doc->nodes[node].key == NULL) {
        return false;
    }
    return unescape(doc->nodes[node].key, doc->nodes[node].key_len, out, cap);
}
