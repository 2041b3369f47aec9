/*
 * The C ABI end to end, in one process: a service with C handlers (answering now, later from
 * another thread, with an error, or not at all), a blocking and an async client, a stream,
 * the registry, the store, the broker, the gateway and the MCP server over loopback with the
 * memory registry; then misuse (NULL pointers, invalid UTF-8, bad JSON, stopping twice, calls
 * after shutdown), which must all come back as status codes. `make c-test` runs it under
 * valgrind, which fails the run on any leak or memory error.
 */
#include "micro.h"

#include <arpa/inet.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static int checks;

#define CHECK(cond)                                                                  \
    do {                                                                             \
        checks++;                                                                    \
        if (!(cond)) {                                                               \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond);  \
            exit(1);                                                                 \
        }                                                                            \
    } while (0)

static void expect_status(const char *file, int line, const char *what, int32_t want,
                          int32_t got, micro_error *err) {
    checks++;
    if (got != want) {
        fprintf(stderr, "%s:%d: %s returned %d (%s), want %d: %s\n", file, line, what, got,
                micro_status_text(got), want, err ? err->message : "(no error)");
        exit(1);
    }
    if (got != MICRO_OK && (err == NULL || err->code != got || err->message[0] == '\0')) {
        fprintf(stderr, "%s:%d: %s: the error object does not match status %d\n", file, line,
                what, got);
        exit(1);
    }
    if (got == MICRO_OK && err != NULL) {
        fprintf(stderr, "%s:%d: %s succeeded but set an error\n", file, line, what);
        exit(1);
    }
    /* an engine code has a kind; the library's own codes have none */
    if (err != NULL && (got > 0) != (err->kind[0] != '\0')) {
        fprintf(stderr, "%s:%d: %s: status %d came with kind \"%s\"\n", file, line, what, got,
                err->kind);
        exit(1);
    }
    micro_error_free(err);
}

/* ST(want, f(args..., &err)): runs the call with a fresh `err` and checks its status. */
#define ST(want, call)                                                               \
    do {                                                                             \
        micro_error *err = NULL;                                                     \
        int32_t got_ = (call);                                                       \
        expect_status(__FILE__, __LINE__, #call, (want), got_, err);                 \
    } while (0)

/* ---- handlers ------------------------------------------------------------------------ */

/* Greeter.Call: answers "Hello <request>" at once. */
static void hello(void *user_data, const uint8_t *req, size_t req_len,
                  micro_reply *reply) {
    int *calls = user_data;
    __atomic_add_fetch(calls, 1, __ATOMIC_SEQ_CST);
    char out[256];
    int n = snprintf(out, sizeof out, "Hello %.*s", (int)req_len, (const char *)req);
    micro_reply_send(reply, (const uint8_t *)out, (size_t)n, NULL);
}

/* Greeter.Later: answers from another thread after the handler returned. */
static void *answer_later(void *reply) {
    usleep(20 * 1000);
    micro_reply_send(reply, (const uint8_t *)"later", 5, NULL);
    return NULL;
}

static void later(void *user_data, const uint8_t *req, size_t req_len,
                  micro_reply *reply) {
    (void)user_data, (void)req, (void)req_len;
    pthread_t thread;
    pthread_create(&thread, NULL, answer_later, reply);
    pthread_detach(thread);
}

/* Greeter.Missing: answers 404 with an id and a detail. */
static void missing(void *user_data, const uint8_t *req, size_t req_len,
                    micro_reply *reply) {
    (void)user_data, (void)req, (void)req_len;
    micro_reply_error(reply, 404, "greeter", "no such greeting", NULL);
}

/* Greeter.Odd: answers with a code outside 400..599 and no id or detail: the caller gets 500
 * from the service. */
static void odd(void *user_data, const uint8_t *req, size_t req_len,
                micro_reply *reply) {
    (void)user_data, (void)req, (void)req_len;
    micro_reply_error(reply, 42, NULL, NULL, NULL);
}

/* Greeter.Drop: gives its reply up unanswered. */
static void drop(void *user_data, const uint8_t *req, size_t req_len,
                 micro_reply *reply) {
    (void)user_data, (void)req, (void)req_len;
    micro_reply_free(reply);
}

/* Greeter.Meta: answers with the call metadata of its reply (a JSON object), asked for twice:
 * the second answer is the same text. */
static void meta(void *user_data, const uint8_t *req, size_t req_len,
                 micro_reply *reply) {
    (void)user_data, (void)req, (void)req_len;
    const char *metadata = micro_reply_metadata(reply);
    if (metadata != micro_reply_metadata(reply)) {
        micro_reply_error(reply, 500, NULL, "micro_reply_metadata changed", NULL);
        return;
    }
    micro_reply_send(reply, (const uint8_t *)metadata, strlen(metadata), NULL);
}

/* Greeter.Nested: calls Greeter.Call itself, and tries to stop its own service, which must be
 * refused (the stop would wait for this very request). Answers "<stop status> <call status>
 * <inner answer>". */
static struct {
    micro_client *client;
    micro_service *svc;
} nest;

static void nested(void *user_data, const uint8_t *req, size_t req_len,
                   micro_reply *reply) {
    (void)user_data;
    int32_t stop = micro_service_stop(nest.svc, NULL);
    micro_buf inner = {0};
    int32_t call = micro_client_call(nest.client, "greeter", "Greeter.Call", req, req_len, NULL,
                                     &inner, NULL);
    char out[256];
    int n = snprintf(out, sizeof out, "%d %d %.*s", stop, call, (int)inner.len, (const char *)inner.ptr);
    micro_buf_free(&inner);
    micro_reply_send(reply, (const uint8_t *)out, (size_t)n, NULL);
}

/* Greeter.Fast (inline, on a runtime worker): answers at once; a blocking call of the library
 * made there is refused with MICRO_ERR_STATE instead of stalling the worker. */
static void fast(void *user_data, const uint8_t *req, size_t req_len,
                 micro_reply *reply) {
    (void)user_data;
    micro_buf inner = {0};
    int32_t call = req_len == 0 ? MICRO_OK
                                : micro_client_call(nest.client, "greeter", "Greeter.Call", req,
                                                    req_len, NULL, &inner, NULL);
    char out[32];
    int n = snprintf(out, sizeof out, "fast %d", call);
    micro_reply_send(reply, (const uint8_t *)out, (size_t)n, NULL);
}

/* Slow.Hold: keeps its reply unanswered, for the shutdown test. */
static micro_reply *held;

static void hold(void *user_data, const uint8_t *req, size_t req_len,
                 micro_reply *reply) {
    (void)user_data, (void)req, (void)req_len;
    __atomic_store_n(&held, reply, __ATOMIC_SEQ_CST);
}

/* Greeter.Upper (stream): sends each message back upper-cased until the caller closes. */
static int32_t upper(void *user_data, const char *metadata, micro_stream *stream) {
    (void)user_data, (void)metadata;
    for (;;) {
        micro_buf in = {0};
        int32_t status = micro_stream_recv(stream, &in, NULL);
        if (status == MICRO_EOF) return 0;
        if (status != MICRO_OK) return 500;
        for (size_t i = 0; i < in.len; i++)
            if (in.ptr[i] >= 'a' && in.ptr[i] <= 'z') in.ptr[i] -= 32;
        status = micro_stream_send(stream, in.ptr, in.len, NULL);
        micro_buf_free(&in);
        if (status != MICRO_OK) return 500;
    }
}

/* Greeter.Refuse (stream): ends every stream at once with 403. */
static int32_t refuse(void *user_data, const char *metadata, micro_stream *stream) {
    (void)user_data, (void)metadata;
    micro_stream_free(stream); /* ignored: the library owns a handler's stream */
    return 403;
}

/* Greeter.Unknown (stream): ends every stream with a 404 of its own words, though it returns
 * 0; first tries an error whose detail is not UTF-8, which is refused (status kept for the
 * client side of the test to check). */
static int32_t unknown_greeting_bad_utf8_status;
static int32_t unknown_greeting(void *user_data, const char *metadata, micro_stream *stream) {
    (void)user_data, (void)metadata;
    const char bad_utf8[] = {'n', (char)0xff, 0};
    __atomic_store_n(&unknown_greeting_bad_utf8_status, micro_stream_error(stream, 404, NULL, bad_utf8, NULL),
                     __ATOMIC_SEQ_CST);
    micro_stream_error(stream, 500, NULL, "replaced by the next call", NULL);
    micro_stream_error(stream, 404, NULL, "no greeting for you", NULL);
    return 0;
}

/* ---- waiting for callbacks ----------------------------------------------------------- */

typedef struct {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    int count;
    int32_t status;
    char text[256];
} waiter;

#define WAITER {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, 0, ""}

static void waiter_note(waiter *w, int32_t status, const void *data, size_t len) {
    pthread_mutex_lock(&w->lock);
    w->count++;
    w->status = status;
    snprintf(w->text, sizeof w->text, "%.*s", (int)len, (const char *)data);
    pthread_cond_broadcast(&w->cond);
    pthread_mutex_unlock(&w->lock);
}

/* Waits until `count` callbacks arrived, at most 10 seconds; returns whether they did. */
static int waiter_wait(waiter *w, int count) {
    struct timespec deadline;
    clock_gettime(CLOCK_REALTIME, &deadline);
    deadline.tv_sec += 10;
    pthread_mutex_lock(&w->lock);
    while (w->count < count)
        if (pthread_cond_timedwait(&w->cond, &w->lock, &deadline) != 0) break;
    int ok = w->count >= count;
    pthread_mutex_unlock(&w->lock);
    return ok;
}

static void call_done(void *user_data, int32_t status, const uint8_t *rsp, size_t rsp_len,
                      const micro_error *error) {
    if (status != MICRO_OK) {
        waiter_note(user_data, status, error->detail, strlen(error->detail));
    } else {
        waiter_note(user_data, status, rsp, rsp_len);
    }
}

static int32_t on_message(void *user_data, const char *topic, const uint8_t *body, size_t len,
                          const char *header_json) {
    (void)topic, (void)header_json;
    waiter_note(user_data, 0, body, len);
    return 0;
}

/* ---- a tiny HTTP client for the gateway ---------------------------------------------- */

/* POSTs `body` to `path` on `address` (host:port) and returns the whole response, or NULL. */
static char *http_post(const char *address, const char *path, const char *body) {
    char host[64];
    snprintf(host, sizeof host, "%s", address);
    char *colon = strrchr(host, ':');
    if (!colon) return NULL;
    *colon = '\0';
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons(atoi(colon + 1))};
    inet_pton(AF_INET, host, &addr.sin_addr);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (connect(fd, (struct sockaddr *)&addr, sizeof addr) != 0) {
        close(fd);
        return NULL;
    }
    char request[1024];
    int n = snprintf(request, sizeof request,
                     "POST %s HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
                     "Content-Length: %zu\r\nConnection: close\r\n\r\n%s",
                     path, strlen(body), body);
    if (write(fd, request, (size_t)n) != n) {
        close(fd);
        return NULL;
    }
    size_t cap = 8192, len = 0;
    char *response = malloc(cap);
    ssize_t got;
    while ((got = read(fd, response + len, cap - len - 1)) > 0) len += (size_t)got;
    response[len] = '\0';
    close(fd);
    return response;
}

/* ---- the tests ----------------------------------------------------------------------- */

static micro_service *start_greeter(int *calls) {
    micro_service *svc = NULL;
    ST(MICRO_OK, micro_service_new("greeter", "{\"version\": \"1.0.0\", \"metadata\": {\"lang\": \"c\"}}",
                                   &svc, &err));
    ST(MICRO_OK, micro_service_handle(svc, "Greeter.Call", hello, calls, &err));
    ST(MICRO_OK, micro_service_handle(svc, "Greeter.Later", later, NULL, &err));
    ST(MICRO_OK, micro_service_handle(svc, "Greeter.Missing", missing, NULL, &err));
    ST(MICRO_OK, micro_service_handle(svc, "Greeter.Drop", drop, NULL, &err));
    ST(MICRO_OK, micro_service_handle(svc, "Greeter.Meta", meta, NULL, &err));
    ST(MICRO_OK, micro_service_handle(svc, "Greeter.Nested", nested, NULL, &err));
    ST(MICRO_OK, micro_service_handle_inline(svc, "Greeter.Fast", fast, NULL, &err));
    ST(MICRO_OK, micro_service_stream(svc, "Greeter.Upper", upper, NULL, &err));
    ST(MICRO_OK, micro_service_stream(svc, "Greeter.Refuse", refuse, NULL, &err));
    ST(MICRO_OK, micro_service_stream(svc, "Greeter.Unknown", unknown_greeting, NULL, &err));
    ST(MICRO_OK, micro_service_handle(svc, "Greeter.Odd", odd, NULL, &err));
    ST(MICRO_OK, micro_service_describe(svc, "Greeter.Call", "Greets a person by name",
                                        "{\"name\": \"Alice\"}", &err));
    ST(MICRO_OK, micro_service_endpoint_metadata(svc, "Greeter.Call", "scopes", "greeter:call", &err));
    ST(MICRO_OK, micro_service_start(svc, &err));
    return svc;
}

static void test_calls(micro_client *client, const int *calls) {
    micro_buf rsp = {0};
    ST(MICRO_OK, micro_client_call(client, "greeter", "Greeter.Call", (const uint8_t *)"Alice", 5,
                                   NULL, &rsp, &err));
    CHECK(rsp.len == 11 && memcmp(rsp.ptr, "Hello Alice", 11) == 0);
    CHECK(__atomic_load_n(calls, __ATOMIC_SEQ_CST) == 1);
    micro_buf_free(&rsp);
    CHECK(rsp.ptr == NULL && rsp.len == 0);
    micro_buf_free(&rsp); /* freeing an emptied buffer again does nothing */

    ST(MICRO_OK, micro_client_call(client, "greeter", "Greeter.Later", NULL, 0, NULL, &rsp, &err));
    CHECK(rsp.len == 5 && memcmp(rsp.ptr, "later", 5) == 0);
    micro_buf_free(&rsp);

    micro_error *err = NULL;
    CHECK(micro_client_call(client, "greeter", "Greeter.Missing", NULL, 0, NULL, &rsp, &err) == 404);
    CHECK(err->code == 404 && strcmp(err->id, "greeter") == 0);
    CHECK(strcmp(err->detail, "no such greeting") == 0 && strcmp(err->status, "Not Found") == 0);
    CHECK(strstr(err->message, "no such greeting") != NULL && strcmp(err->kind, "not_found") == 0);
    micro_error_free(err);
    CHECK(rsp.ptr == NULL);

    err = NULL;
    CHECK(micro_client_call(client, "greeter", "Greeter.Odd", NULL, 0, NULL, &rsp, &err) == 500);
    CHECK(strcmp(err->id, "greeter") == 0 && strcmp(err->detail, "") == 0);
    micro_error_free(err);

    err = NULL;
    CHECK(micro_client_call(client, "greeter", "Greeter.Drop", NULL, 0, "{\"retries\": 0}", &rsp,
                            &err) == 500);
    CHECK(strstr(err->detail, "without answering") != NULL);
    micro_error_free(err);

    ST(MICRO_OK, micro_client_call(client, "greeter", "Greeter.Meta", NULL, 0,
                                   "{\"metadata\": {\"Trace\": \"t-1\"}}", &rsp, &err));
    CHECK(rsp.len > 0 && strstr((const char *)rsp.ptr, "\"Trace\":\"t-1\"") != NULL);
    micro_buf_free(&rsp);

    /* a handler may call other services; stopping its own service from there is refused */
    ST(MICRO_OK, micro_client_call(client, "greeter", "Greeter.Nested", (const uint8_t *)"Dave", 4,
                                   NULL, &rsp, &err));
    CHECK(rsp.len == 15 && memcmp(rsp.ptr, "-7 0 Hello Dave", 15) == 0);
    micro_buf_free(&rsp);

    ST(MICRO_OK, micro_client_call(client, "greeter", "Greeter.Fast", NULL, 0, NULL, &rsp, &err));
    CHECK(rsp.len == 6 && memcmp(rsp.ptr, "fast 0", 6) == 0);
    micro_buf_free(&rsp);
    ST(MICRO_OK, micro_client_call(client, "greeter", "Greeter.Fast", (const uint8_t *)"x", 1, NULL,
                                   &rsp, &err));
    CHECK(rsp.len == 7 && memcmp(rsp.ptr, "fast -7", 7) == 0);
    micro_buf_free(&rsp);

    err = NULL;
    CHECK(micro_client_call(client, "nobody", "Nobody.Call", NULL, 0, NULL, &rsp, &err) == 404);
    /* the same code as the service's own 404, told apart by its kind */
    CHECK(strcmp(err->id, "go.micro.client") == 0 && strcmp(err->kind, "no_service") == 0);
    micro_error_free(err);

    /* the async call completes through its callback, once per call */
    waiter w = WAITER;
    ST(MICRO_OK, micro_client_call_async(client, "greeter", "Greeter.Call", (const uint8_t *)"Bob",
                                         3, NULL, call_done, &w, NULL, &err));
    CHECK(waiter_wait(&w, 1) && w.status == MICRO_OK && strcmp(w.text, "Hello Bob") == 0);
    micro_call *call = NULL;
    ST(MICRO_OK, micro_client_call_async(client, "greeter", "Greeter.Missing", NULL, 0, NULL,
                                         call_done, &w, &call, &err));
    CHECK(waiter_wait(&w, 2) && w.status == 404 && strcmp(w.text, "no such greeting") == 0);
    ST(MICRO_OK, micro_call_cancel(call, &err)); /* after completion: nothing happens */
    micro_call_free(call);
}

static void test_stream(micro_client *client) {
    micro_stream *stream = NULL;
    ST(MICRO_OK, micro_client_stream(client, "greeter", "Greeter.Upper", NULL, &stream, &err));
    const char *words[] = {"one", "two", "three"};
    for (int i = 0; i < 3; i++)
        ST(MICRO_OK, micro_stream_send(stream, (const uint8_t *)words[i], strlen(words[i]), &err));
    ST(MICRO_OK, micro_stream_close_send(stream, &err));
    ST(MICRO_OK, micro_stream_close_send(stream, &err)); /* closing twice is fine */
    ST(400, micro_stream_send(stream, (const uint8_t *)"x", 1, &err)); /* nothing after closing */
    const char *want[] = {"ONE", "TWO", "THREE"};
    for (int i = 0; i < 3; i++) {
        micro_buf in = {0};
        ST(MICRO_OK, micro_stream_recv(stream, &in, &err));
        CHECK(in.len == strlen(want[i]) && memcmp(in.ptr, want[i], in.len) == 0);
        micro_buf_free(&in);
    }
    micro_buf end = {0};
    micro_error *err = NULL;
    CHECK(micro_stream_recv(stream, &end, &err) == MICRO_EOF);
    CHECK(err == NULL && end.ptr == NULL && end.len == 0);
    micro_stream_free(stream);

    /* a stream handler's error code reaches the caller */
    ST(MICRO_OK, micro_client_stream(client, "greeter", "Greeter.Refuse", NULL, &stream, &err));
    err = NULL;
    CHECK(micro_stream_recv(stream, &end, &err) == 403);
    CHECK(strstr(err->detail, "403") != NULL && strcmp(err->id, "greeter") == 0);
    micro_error_free(err);
    micro_stream_free(stream);

    /* a stream handler's own error (micro_stream_error) reaches the caller whole */
    ST(MICRO_OK, micro_client_stream(client, "greeter", "Greeter.Unknown", NULL, &stream, &err));
    ST(MICRO_ERR_STATE, micro_stream_error(stream, 404, NULL, NULL, &err)); /* not a client's */
    err = NULL;
    CHECK(micro_stream_recv(stream, &end, &err) == 404);
    CHECK(strcmp(err->detail, "no greeting for you") == 0 && strcmp(err->id, "greeter") == 0);
    CHECK(__atomic_load_n(&unknown_greeting_bad_utf8_status, __ATOMIC_SEQ_CST) == MICRO_ERR_INVALID_UTF8);
    micro_error_free(err);
    micro_stream_free(stream);
}

static void test_registry(void) {
    char *json = NULL;
    ST(MICRO_OK, micro_registry_get("greeter", &json, &err));
    CHECK(strstr(json, "\"name\":\"greeter\"") != NULL);
    CHECK(strstr(json, "\"version\":\"1.0.0\"") != NULL);
    CHECK(strstr(json, "Greeter.Call") != NULL && strstr(json, "Greets a person by name") != NULL);
    CHECK(strstr(json, "\"scopes\":\"greeter:call\"") != NULL);
    micro_string_free(json);
    ST(MICRO_OK, micro_registry_list(&json, &err));
    CHECK(strstr(json, "greeter") != NULL);
    micro_string_free(json);
    json = NULL;
    ST(404, micro_registry_get("nobody", &json, &err));
    CHECK(json == NULL);

    const char *other = "{\"name\":\"elsewhere\",\"version\":\"1\",\"nodes\":[{\"id\":\"e-1\","
                        "\"address\":\"127.0.0.1:9\"}]}";
    ST(MICRO_OK, micro_registry_register(other, 0, &err));
    ST(MICRO_OK, micro_registry_get("elsewhere", &json, &err));
    CHECK(strstr(json, "127.0.0.1:9") != NULL);
    micro_string_free(json);
    ST(MICRO_OK, micro_registry_deregister(other, &err));
    ST(404, micro_registry_get("elsewhere", &json, &err));
    ST(MICRO_ERR_INVALID_JSON, micro_registry_register("{\"name\": 7}", 0, &err));
}

static void test_store(void) {
    ST(MICRO_OK, micro_store_write("user/1", (const uint8_t *)"alice", 5, NULL, &err));
    ST(MICRO_OK, micro_store_write("user/2", (const uint8_t *)"bob", 3, "{\"ttl_ms\": 60000}", &err));
    ST(MICRO_OK, micro_store_write("other", (const uint8_t *)"x", 1, "{\"table\": \"t2\"}", &err));
    micro_buf value = {0};
    ST(MICRO_OK, micro_store_read("user/1", NULL, &value, &err));
    CHECK(value.len == 5 && memcmp(value.ptr, "alice", 5) == 0);
    micro_buf_free(&value);
    char *keys = NULL;
    ST(MICRO_OK, micro_store_list("{\"prefix\": \"user/\"}", &keys, &err));
    CHECK(strcmp(keys, "[\"user/1\",\"user/2\"]") == 0);
    micro_string_free(keys);
    ST(MICRO_OK, micro_store_list("{\"table\": \"t2\"}", &keys, &err));
    CHECK(strcmp(keys, "[\"other\"]") == 0);
    micro_string_free(keys);
    ST(MICRO_OK, micro_store_delete("user/1", NULL, &err));
    ST(MICRO_OK, micro_store_delete("user/1", NULL, &err)); /* deleting a missing key is fine */
    ST(404, micro_store_read("user/1", NULL, &value, &err));
    ST(MICRO_ERR_INVALID_JSON, micro_store_list("{\"prefx\": \"user/\"}", &keys, &err));
}

static void test_broker(micro_client *client) {
    waiter w = WAITER;
    micro_subscription *sub = NULL;
    ST(MICRO_OK, micro_broker_subscribe("events", NULL, on_message, &w, &sub, &err));
    ST(MICRO_OK, micro_broker_publish("events", (const uint8_t *)"first", 5, "{\"k\": \"v\"}", &err));
    CHECK(waiter_wait(&w, 1) && strcmp(w.text, "first") == 0);
    ST(MICRO_OK, micro_client_publish(client, "events", (const uint8_t *)"{\"n\":2}", 7, NULL, NULL, &err));
    CHECK(waiter_wait(&w, 2) && strcmp(w.text, "{\"n\":2}") == 0);
    micro_subscription_free(sub);
    ST(MICRO_OK, micro_broker_publish("events", (const uint8_t *)"unheard", 7, NULL, &err));
    CHECK(w.count == 2);
}

static void test_subscriber_service(void) {
    waiter w = WAITER;
    micro_service *svc = NULL;
    ST(MICRO_OK, micro_service_new("listener", NULL, &svc, &err));
    ST(MICRO_OK, micro_service_subscribe(svc, "news", "q", on_message, &w, &err));
    ST(MICRO_OK, micro_service_start(svc, &err));
    ST(MICRO_OK, micro_broker_publish("news", (const uint8_t *)"extra", 5, NULL, &err));
    CHECK(waiter_wait(&w, 1) && strcmp(w.text, "extra") == 0);
    ST(MICRO_OK, micro_service_stop(svc, &err));
    micro_service_free(svc);
}

static void test_gateway_and_mcp(void) {
    micro_gateway *gw = NULL;
    ST(MICRO_OK, micro_gateway_start("{\"address\": \"127.0.0.1:0\", \"mcp\": true}", &gw, &err));
    char *address = NULL;
    ST(MICRO_OK, micro_gateway_address(gw, &address, &err));
    char *response = http_post(address, "/api/greeter/Greeter/Call", "\"Carol\"");
    CHECK(response != NULL && strstr(response, "200 OK") != NULL);
    CHECK(strstr(response, "Hello \"Carol\"") != NULL);
    free(response);
    micro_string_free(address);
    ST(MICRO_OK, micro_gateway_stop(gw, &err));
    ST(MICRO_ERR_ALREADY_STOPPED, micro_gateway_stop(gw, &err));
    micro_gateway_free(gw);

    micro_mcp *mcp = NULL;
    ST(MICRO_OK, micro_mcp_start("{\"address\": \"127.0.0.1:0\"}", &mcp, &err));
    ST(MICRO_OK, micro_mcp_address(mcp, &address, &err));
    response = http_post(address, "/mcp/call", "{\"tool\": \"greeter.Greeter.Call\", \"input\": {}}");
    CHECK(response != NULL && strstr(response, "HTTP/1.1") != NULL);
    free(response);
    micro_string_free(address);
    micro_mcp_free(mcp); /* stops it */
    ST(MICRO_ERR_INVALID_JSON, micro_mcp_start("{\"port\": 1}", &mcp, &err));
}

static void test_misuse(micro_client *client, micro_service *svc) {
    micro_buf rsp = {0};
    const char bad_utf8[] = {'G', (char)0xff, (char)0xfe, 0};
    /* NULL pointers */
    ST(MICRO_ERR_NULL_ARGUMENT, micro_client_call(NULL, "greeter", "Greeter.Call", NULL, 0, NULL, &rsp, &err));
    ST(MICRO_ERR_NULL_ARGUMENT, micro_client_call(client, NULL, "Greeter.Call", NULL, 0, NULL, &rsp, &err));
    ST(MICRO_ERR_NULL_ARGUMENT, micro_client_call(client, "greeter", "Greeter.Call", NULL, 3, NULL, &rsp, &err));
    ST(MICRO_ERR_NULL_ARGUMENT, micro_client_call(client, "greeter", "Greeter.Call", NULL, 0, NULL, NULL, &err));
    ST(MICRO_ERR_NULL_ARGUMENT, micro_service_new(NULL, NULL, NULL, &err));
    ST(MICRO_ERR_NULL_ARGUMENT, micro_service_start(NULL, &err));
    ST(MICRO_ERR_NULL_ARGUMENT, micro_reply_send(NULL, NULL, 0, &err));
    ST(MICRO_ERR_NULL_ARGUMENT, micro_store_read("k", NULL, NULL, &err));
    ST(MICRO_ERR_NULL_ARGUMENT, micro_registry_list(NULL, &err));
    ST(MICRO_ERR_NULL_ARGUMENT, micro_stream_recv(NULL, &rsp, &err));
    ST(MICRO_ERR_NULL_ARGUMENT, micro_stream_error(NULL, 404, NULL, NULL, &err));
    ST(MICRO_ERR_NULL_ARGUMENT, micro_client_call_async(client, "greeter", "Greeter.Call", NULL, 0, NULL, NULL, NULL, NULL, &err));
    ST(MICRO_ERR_NULL_ARGUMENT, micro_call_cancel(NULL, &err));
    ST(MICRO_ERR_NULL_ARGUMENT, micro_broker_subscribe("t", NULL, NULL, NULL, NULL, &err));
    CHECK(micro_client_call(NULL, "s", "e", NULL, 0, NULL, &rsp, NULL) == MICRO_ERR_NULL_ARGUMENT); /* err may be NULL */
    micro_buf_free(NULL);
    micro_string_free(NULL);
    micro_error_free(NULL);
    micro_service_free(NULL);
    micro_client_free(NULL);
    micro_stream_free(NULL);
    micro_reply_free(NULL);
    micro_call_free(NULL);
    CHECK(micro_reply_metadata(NULL) == NULL);
    micro_subscription_free(NULL);
    micro_gateway_free(NULL);
    micro_mcp_free(NULL);
    /* invalid UTF-8 */
    ST(MICRO_ERR_INVALID_UTF8, micro_client_call(client, bad_utf8, "Greeter.Call", NULL, 0, NULL, &rsp, &err));
    micro_service *unmade = NULL;
    ST(MICRO_ERR_INVALID_UTF8, micro_service_new(bad_utf8, NULL, &unmade, &err));
    CHECK(unmade == NULL);
    ST(MICRO_ERR_INVALID_UTF8, micro_store_write(bad_utf8, NULL, 0, NULL, &err));
    ST(MICRO_ERR_INVALID_UTF8, micro_broker_publish(bad_utf8, NULL, 0, NULL, &err));
    /* bad JSON and bad values */
    ST(MICRO_ERR_INVALID_JSON, micro_client_call(client, "greeter", "Greeter.Call", NULL, 0, "{", &rsp, &err));
    ST(MICRO_ERR_INVALID_JSON, micro_client_call(client, "greeter", "Greeter.Call", NULL, 0, "{\"timeout\": 1}", &rsp, &err));
    ST(MICRO_ERR_INVALID_ARGUMENT, micro_client_call(client, "greeter", "Greeter.Call", NULL, 0, "{\"backoff\": \"linear\"}", &rsp, &err));
    ST(MICRO_ERR_INVALID_JSON, micro_client_new("[1]", &client, &err));
    ST(MICRO_ERR_INVALID_JSON, micro_broker_publish("t", NULL, 0, "{\"k\": 1}", &err));
    /* state: a started service takes no more handlers, and starts once */
    ST(MICRO_ERR_STATE, micro_service_handle(svc, "Greeter.More", hello, NULL, &err));
    ST(MICRO_ERR_STATE, micro_service_start(svc, &err));
    ST(MICRO_ERR_STATE, micro_runtime_start(NULL, &err));
    /* a bad description is reported by start */
    micro_service *bad = NULL;
    ST(MICRO_OK, micro_service_new("bad", NULL, &bad, &err));
    ST(MICRO_OK, micro_service_describe(bad, "Bad.Unknown", "nothing", NULL, &err));
    ST(MICRO_ERR_STATE, micro_service_stop(bad, &err));
    ST(404, micro_service_start(bad, &err));
    ST(MICRO_ERR_STATE, micro_service_start(bad, &err));
    micro_service_free(bad);
}

int main(void) {
    CHECK(strlen(micro_version()) > 0);
    CHECK(strcmp(micro_status_text(MICRO_ERR_NULL_ARGUMENT), "MICRO_ERR_NULL_ARGUMENT") == 0);
    CHECK(strcmp(micro_status_text(404), "Not Found") == 0);
    CHECK(strcmp(micro_status_text(12345), "") == 0);

    ST(MICRO_ERR_INVALID_JSON, micro_runtime_start("{\"registry\": \"memory\", \"nope\": 1}", &err));
    ST(MICRO_OK, micro_runtime_start("{\"registry\": \"memory\", \"broker\": \"memory\", "
                                     "\"store\": \"memory\", \"worker_threads\": 2}", &err));

    int calls = 0;
    micro_service *svc = start_greeter(&calls);
    char *address = NULL;
    ST(MICRO_OK, micro_service_address(svc, &address, &err));
    CHECK(strncmp(address, "127.0.0.1:", 10) == 0);
    micro_string_free(address);

    micro_client *client = NULL;
    ST(MICRO_OK, micro_client_new("{\"selector\": \"roundrobin\"}", &client, &err));
    nest.client = client;
    nest.svc = svc;
    test_calls(client, &calls);
    test_stream(client);
    test_registry();
    test_store();
    test_broker(client);
    test_subscriber_service();
    test_gateway_and_mcp();
    test_misuse(client, svc);

    ST(MICRO_OK, micro_service_stop(svc, &err));
    ST(MICRO_ERR_ALREADY_STOPPED, micro_service_stop(svc, &err));
    ST(MICRO_ERR_STATE, micro_service_address(svc, &address, &err));
    micro_buf rsp = {0};
    ST(404, micro_client_call(client, "greeter", "Greeter.Call", NULL, 0, NULL, &rsp, &err));

    /* an async call still pending at shutdown completes with MICRO_ERR_SHUTDOWN */
    micro_service *slow = NULL;
    ST(MICRO_OK, micro_service_new("slow", NULL, &slow, &err));
    ST(MICRO_OK, micro_service_handle(slow, "Slow.Hold", hold, NULL, &err));
    ST(MICRO_OK, micro_service_start(slow, &err));

    /* a cancelled call completes at once with go-micro's 408, though the service holds it */
    waiter cancelled = WAITER;
    micro_call *call = NULL;
    ST(MICRO_OK, micro_client_call_async(client, "slow", "Slow.Hold", NULL, 0, NULL, call_done,
                                         &cancelled, &call, &err));
    for (int i = 0; i < 1000 && __atomic_load_n(&held, __ATOMIC_SEQ_CST) == NULL; i++) usleep(10000);
    CHECK(held != NULL);
    ST(MICRO_OK, micro_call_cancel(call, &err));
    ST(MICRO_OK, micro_call_cancel(call, &err)); /* twice is fine */
    micro_call_free(call);
    CHECK(waiter_wait(&cancelled, 1) && cancelled.status == 408 &&
          strstr(cancelled.text, "cancelled") != NULL);
    micro_reply_free(__atomic_exchange_n(&held, NULL, __ATOMIC_SEQ_CST));

    waiter pending = WAITER;
    ST(MICRO_OK, micro_client_call_async(client, "slow", "Slow.Hold", NULL, 0, NULL, call_done,
                                         &pending, NULL, &err));
    for (int i = 0; i < 1000 && __atomic_load_n(&held, __ATOMIC_SEQ_CST) == NULL; i++) usleep(10000);
    CHECK(held != NULL);

    /* after shutdown every call answers MICRO_ERR_SHUTDOWN; handles are still freed */
    micro_service *late = NULL;
    ST(MICRO_OK, micro_service_new("late", NULL, &late, &err));
    ST(MICRO_OK, micro_runtime_shutdown(&err));
    CHECK(pending.count == 1 && pending.status == MICRO_ERR_SHUTDOWN);
    ST(MICRO_ERR_NULL_ARGUMENT, micro_reply_send(NULL, NULL, 0, &err));
    micro_reply_free(held);
    micro_service_free(slow);
    ST(MICRO_ERR_ALREADY_STOPPED, micro_runtime_shutdown(&err));
    ST(MICRO_ERR_SHUTDOWN, micro_client_call(client, "greeter", "Greeter.Call", NULL, 0, NULL, &rsp, &err));
    ST(MICRO_ERR_SHUTDOWN, micro_service_start(late, &err));
    ST(MICRO_ERR_SHUTDOWN, micro_service_new("later", NULL, &late, &err));
    ST(MICRO_ERR_SHUTDOWN, micro_store_write("k", NULL, 0, NULL, &err));
    ST(MICRO_ERR_SHUTDOWN, micro_registry_list(&address, &err));
    ST(MICRO_ERR_SHUTDOWN, micro_runtime_start(NULL, &err));
    micro_service_free(late);
    micro_service_free(svc);
    micro_client_free(client);
    printf("test_micro: %d checks passed\n", checks);
    return 0;
}
