/* GMime's reading of a message in the format of `outpostctl bounce parts`: one line per MIME
 * entity, depth first (depth, media type, charset, decoded size, digest of the decoded body with
 * white space runs collapsed), so scripts/mime-compare can set the two readers side by side.
 * Built by scripts/mime-compare against Debian's libgmime-3.0-dev; not part of Outpost. */
#include <ctype.h>
#include <fcntl.h>
#include <gmime/gmime.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <string.h>

static void digest(const unsigned char *data, size_t len, char out[13]) {
    GString *collapsed = g_string_sized_new(len);
    int space = 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = data[i];
        if (c == ' ' || c == '\t' || c == '\r' || c == '\n') {
            space = collapsed->len > 0;
            continue;
        }
        if (space)
            g_string_append_c(collapsed, ' ');
        space = 0;
        g_string_append_c(collapsed, (char)c);
    }
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    EVP_Digest(collapsed->str, collapsed->len, md, &n, EVP_sha256(), NULL);
    for (int i = 0; i < 6; i++)
        sprintf(out + 2 * i, "%02x", md[i]);
    g_string_free(collapsed, TRUE);
}

static char *lower(const char *s) {
    char *out = g_ascii_strdown(s ? s : "", -1);
    return out;
}

static void print_line(int depth, GMimeContentType *type, const char *charset,
                       GByteArray *body) {
    char *t = lower(g_mime_content_type_get_mime_type(type));
    char *cs = charset && *charset ? lower(charset) : g_strdup("-");
    if (body) {
        char d[13];
        digest(body->data, body->len, d);
        printf("%d\t%s\t%s\t%u\t%s\n", depth, t, cs, body->len, d);
    } else {
        printf("%d\t%s\t%s\t0\t-\n", depth, t, cs);
    }
    g_free(t);
    g_free(cs);
}

/* The body with its transfer encoding undone; text converted to UTF-8 from its charset. */
static GByteArray *decoded(GMimePart *part, const char *charset, gboolean text) {
    GMimeDataWrapper *content = g_mime_part_get_content(part);
    GByteArray *bytes = g_byte_array_new();
    if (!content)
        return bytes;
    GMimeStream *mem = g_mime_stream_mem_new_with_byte_array(bytes);
    g_mime_stream_mem_set_owner(GMIME_STREAM_MEM(mem), FALSE);
    GMimeStream *target = mem;
    GMimeStream *filtered = NULL;
    if (text && charset && *charset && g_ascii_strcasecmp(charset, "utf-8") != 0) {
        GMimeFilter *conv = g_mime_filter_charset_new(charset, "UTF-8");
        if (conv) {
            filtered = g_mime_stream_filter_new(mem);
            g_mime_stream_filter_add(GMIME_STREAM_FILTER(filtered), conv);
            g_object_unref(conv);
            target = filtered;
        }
    }
    g_mime_data_wrapper_write_to_stream(content, target);
    g_mime_stream_flush(target);
    if (filtered)
        g_object_unref(filtered);
    g_object_unref(mem);
    return bytes;
}

static void walk(GMimeObject *obj, int depth);

static void walk_message(GMimeMessage *message, int depth) {
    GMimeObject *body = message ? g_mime_message_get_mime_part(message) : NULL;
    if (body)
        walk(body, depth);
}

static void walk(GMimeObject *obj, int depth) {
    GMimeContentType *type = g_mime_object_get_content_type(obj);
    const char *charset = g_mime_content_type_get_parameter(type, "charset");
    if (GMIME_IS_MULTIPART(obj)) {
        print_line(depth, type, charset, NULL);
        GMimeMultipart *multi = GMIME_MULTIPART(obj);
        int n = g_mime_multipart_get_count(multi);
        for (int i = 0; i < n; i++)
            walk(g_mime_multipart_get_part(multi, i), depth + 1);
    } else if (GMIME_IS_MESSAGE_PART(obj)) {
        print_line(depth, type, charset, NULL);
        walk_message(g_mime_message_part_get_message(GMIME_MESSAGE_PART(obj)), depth + 1);
    } else if (GMIME_IS_PART(obj)) {
        gboolean text = g_mime_content_type_is_type(type, "text", "*");
        GByteArray *body = decoded(GMIME_PART(obj), charset, text);
        print_line(depth, type, charset, body);
        g_byte_array_free(body, TRUE);
    }
}

int main(int argc, char **argv) {
    g_mime_init();
    for (int i = 1; i < argc; i++) {
        printf("# %s\n", argv[i]);
        GMimeStream *stream = g_mime_stream_fs_open(argv[i], O_RDONLY, 0644, NULL);
        if (!stream) {
            fprintf(stderr, "gmime_parts: cannot read %s\n", argv[i]);
            continue;
        }
        GMimeParser *parser = g_mime_parser_new_with_stream(stream);
        GMimeMessage *message = g_mime_parser_construct_message(parser, NULL);
        walk_message(message, 0);
        if (message)
            g_object_unref(message);
        g_object_unref(parser);
        g_object_unref(stream);
    }
    g_mime_shutdown();
    return 0;
}
