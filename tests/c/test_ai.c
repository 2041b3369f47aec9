/*
 * Models and agents through the C ABI, against a scripted provider on loopback that speaks
 * OpenAI's chat completions (whole JSON, or server-sent events when the request streams) and
 * keeps every request it gets: an answer whole and streamed, a tool round trip whole and
 * streamed through a C tool handler, a handler's error given back to the model, the registry's
 * endpoints as tools (run by the client or by a handler), a 401 with a clear error, a
 * cancelled stream, and misuse. `make c-test` runs it under valgrind, which fails the run on
 * any leak or memory error.
 */
#include "micro.h"

#include <arpa/inet.h>
#include <pthread.h>
#include <stdarg.h>
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

/* ST(want, f(args..., &err)): runs the call with a fresh `err` and checks its status. */
#define ST(want, call)                                                               \
    do {                                                                             \
        micro_error *err = NULL;                                                     \
        int32_t got_ = (call);                                                       \
        if (got_ != (want)) {                                                        \
            fprintf(stderr, "%s:%d: %s returned %d, want %d: %s\n", __FILE__, __LINE__, \
                    #call, got_, (want), err ? err->message : "(no error)");         \
            exit(1);                                                                 \
        }                                                                            \
        checks++;                                                                    \
        micro_error_free(err);                                                       \
    } while (0)

/* ---- the provider -------------------------------------------------------------------- */

#define KEY "sk-test-5ecret-key"

/* One scripted answer: an HTTP error status, or text and at most one tool call. */
typedef struct {
    int status;
    const char *text;
    const char *tool;      /* the tool asked for, or NULL */
    const char *arguments; /* its arguments, a JSON object */
    int pause_ms;          /* how long to wait before answering */
} reply;

#define MAX_REQUESTS 32

static struct {
    int fd;
    int port;
    pthread_t thread;
    pthread_mutex_t lock;
    reply replies[8];
    int queued, next;
    /* each request as "<path>\n<authorization>\n<body>" */
    char *seen[MAX_REQUESTS];
    int requests;
} provider = {.lock = PTHREAD_MUTEX_INITIALIZER};

static void script(reply r) {
    pthread_mutex_lock(&provider.lock);
    provider.replies[provider.queued++ % 8] = r;
    pthread_mutex_unlock(&provider.lock);
}

/* The request the provider got `i`-th (counting from 0), or "". */
static const char *seen(int i) {
    pthread_mutex_lock(&provider.lock);
    const char *request = i < provider.requests ? provider.seen[i] : "";
    pthread_mutex_unlock(&provider.lock);
    return request;
}

static int requests(void) {
    pthread_mutex_lock(&provider.lock);
    int n = provider.requests;
    pthread_mutex_unlock(&provider.lock);
    return n;
}

/* Appends printf-style text to a growing string. */
__attribute__((format(printf, 3, 4))) static void append(char **out, size_t *len, const char *format, ...) {
    va_list args, again;
    va_start(args, format);
    va_copy(again, args);
    int n = vsnprintf(NULL, 0, format, args);
    va_end(args);
    *out = realloc(*out, *len + (size_t)n + 1);
    vsnprintf(*out + *len, (size_t)n + 1, format, again);
    va_end(again);
    *len += (size_t)n;
}

/* `text` as the inside of a JSON string (only quotes and backslashes need it here). */
static char *escaped(const char *text) {
    char *out = malloc(2 * strlen(text) + 1), *o = out;
    for (; *text; text++) {
        if (*text == '"' || *text == '\\') *o++ = '\\';
        *o++ = *text;
    }
    *o = '\0';
    return out;
}

#define CHUNK "{\"id\":\"chatcmpl-1\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"m\","
#define USAGE "\"usage\":{\"prompt_tokens\":11,\"completion_tokens\":7,\"total_tokens\":18}"

/* The answer's body: chat.completion JSON, or its chunks as server-sent events. */
static char *answer_body(const reply *r, int stream) {
    char *body = NULL, *arguments = escaped(r->tool ? r->arguments : "");
    size_t len = 0;
    const char *finish = r->tool ? "tool_calls" : "stop", *text = r->text ? r->text : "";
    if (!stream) {
        append(&body, &len,
               "{\"id\":\"chatcmpl-1\",\"object\":\"chat.completion\",\"created\":1,\"model\":\"m\","
               "\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":\"%s\"",
               text);
        if (r->tool)
            append(&body, &len,
                   ",\"tool_calls\":[{\"id\":\"call_0\",\"type\":\"function\",\"function\":"
                   "{\"name\":\"%s\",\"arguments\":\"%s\"}}]",
                   r->tool, arguments);
        append(&body, &len, "},\"finish_reason\":\"%s\"}]," USAGE "}", finish);
    } else {
        append(&body, &len, "data: " CHUNK "\"choices\":[{\"index\":0,\"delta\":{\"role\":"
                            "\"assistant\",\"content\":\"\"},\"finish_reason\":null}]}\n\n");
        /* the text a word at a time */
        for (const char *word = text; *word;) {
            const char *end = strchr(word, ' ');
            int n = end ? (int)(end - word + 1) : (int)strlen(word);
            append(&body, &len, "data: " CHUNK "\"choices\":[{\"index\":0,\"delta\":{\"content\":"
                                "\"%.*s\"},\"finish_reason\":null}]}\n\n", n, word);
            word += n;
        }
        if (r->tool)
            append(&body, &len,
                   "data: " CHUNK "\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,"
                   "\"id\":\"call_0\",\"type\":\"function\",\"function\":{\"name\":\"%s\","
                   "\"arguments\":\"%s\"}}]},\"finish_reason\":null}]}\n\n",
                   r->tool, arguments);
        append(&body, &len,
               "data: " CHUNK "\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"%s\"}]}\n\n"
               "data: " CHUNK "\"choices\":[]," USAGE "}\n\ndata: [DONE]\n\n",
               finish);
    }
    free(arguments);
    return body;
}

/* Reads one request from `fd`, notes it, and answers with the next scripted reply. */
static void answer(int fd) {
    size_t cap = 65536, len = 0, whole = 0;
    char *request = malloc(cap);
    ssize_t got;
    while ((got = read(fd, request + len, cap - len - 1)) > 0) {
        len += (size_t)got;
        request[len] = '\0';
        if (len + 1 == cap) request = realloc(request, cap *= 2);
        const char *end = strstr(request, "\r\n\r\n");
        if (end && !whole) {
            const char *length = strcasestr(request, "\r\ncontent-length:");
            whole = (size_t)(end + 4 - request) + (length ? strtoul(length + 17, NULL, 10) : 0);
        }
        if (whole && len >= whole) break;
    }
    char *body = strstr(request, "\r\n\r\n");
    if (!body) {
        free(request);
        return;
    }
    *body = '\0';
    body += 4;
    char path[256] = "", auth[256] = "";
    sscanf(request, "POST %255s", path);
    const char *field = strcasestr(request, "\r\nauthorization: ");
    if (field) sscanf(field + 17, "%255[^\r]", auth);
    char *noted = NULL;
    size_t noted_len = 0;
    append(&noted, &noted_len, "%s\n%s\n%s", path, auth, body);
    int stream = strstr(body, "\"stream\":true") != NULL;
    free(request);

    pthread_mutex_lock(&provider.lock);
    if (provider.requests < MAX_REQUESTS)
        provider.seen[provider.requests++] = noted;
    else
        free(noted);
    reply r = provider.next < provider.queued ? provider.replies[provider.next++ % 8]
                                              : (reply){.text = "nothing scripted"};
    pthread_mutex_unlock(&provider.lock);

    usleep((useconds_t)r.pause_ms * 1000);
    char *out = NULL;
    size_t out_len = 0;
    if (r.status >= 400) {
        const char *error = "{\"error\":{\"message\":\"invalid api key\",\"type\":"
                            "\"invalid_request_error\",\"param\":null,\"code\":\"invalid_api_key\"}}";
        append(&out, &out_len, "HTTP/1.1 %d Error\r\nContent-Type: application/json\r\n"
               "Content-Length: %zu\r\nConnection: close\r\n\r\n%s", r.status, strlen(error), error);
    } else {
        char *content = answer_body(&r, stream);
        append(&out, &out_len, "HTTP/1.1 200 OK\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
               "Connection: close\r\n\r\n%s", stream ? "text/event-stream" : "application/json",
               strlen(content), content);
        free(content);
    }
    /* the client may have gone (a cancelled stream): no SIGPIPE */
    for (size_t sent = 0; sent < out_len;) {
        ssize_t n = send(fd, out + sent, out_len - sent, MSG_NOSIGNAL);
        if (n <= 0) break;
        sent += (size_t)n;
    }
    free(out);
}

static void *serve(void *unused) {
    (void)unused;
    for (;;) {
        int fd = accept(provider.fd, NULL, NULL);
        if (fd < 0) return NULL;
        answer(fd);
        close(fd);
    }
}

static void provider_start(void) {
    provider.fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t size = sizeof addr;
    CHECK(bind(provider.fd, (struct sockaddr *)&addr, size) == 0);
    CHECK(listen(provider.fd, 16) == 0);
    getsockname(provider.fd, (struct sockaddr *)&addr, &size);
    provider.port = ntohs(addr.sin_port);
    pthread_create(&provider.thread, NULL, serve, NULL);
}

static void provider_stop(void) {
    shutdown(provider.fd, SHUT_RDWR); /* accept returns */
    pthread_join(provider.thread, NULL);
    close(provider.fd);
    for (int i = 0; i < provider.requests; i++) free(provider.seen[i]);
}

/* ---- tool handlers ------------------------------------------------------------------- */

/* The integer after `"key":` in `json`, or 0. */
static int field(const char *json, const char *key) {
    char pattern[32];
    snprintf(pattern, sizeof pattern, "\"%s\":", key);
    const char *at = strstr(json, pattern);
    return at ? atoi(at + strlen(pattern)) : 0;
}

/* `add` (a tool handler, and calc's Calc.Add endpoint: the two have one form): answers
 * {"sum": a+b}; counts its calls and keeps the last request. */
static struct {
    int calls;
    char last[256];
} added;

static void add(void *user_data, const uint8_t *req, size_t req_len, micro_reply *reply) {
    (void)user_data;
    char call[256], result[64];
    snprintf(call, sizeof call, "%.*s", (int)req_len, (const char *)req);
    __atomic_add_fetch(&added.calls, 1, __ATOMIC_SEQ_CST);
    memcpy(added.last, call, sizeof call);
    int n = snprintf(result, sizeof result, "{\"sum\":%d}", field(call, "a") + field(call, "b"));
    micro_reply_send(reply, (const uint8_t *)result, (size_t)n, NULL);
}

/* A tool handler that fails. */
static void broken(void *user_data, const uint8_t *req, size_t req_len, micro_reply *reply) {
    (void)user_data, (void)req, (void)req_len;
    micro_reply_error(reply, 500, NULL, "the calculator is broken", NULL);
}

static const char *adder =
    "[{\"name\": \"add\", \"description\": \"Adds a and b.\", \"parameters\": {\"type\": \"object\","
    " \"properties\": {\"a\": {\"type\": \"integer\"}, \"b\": {\"type\": \"integer\"}}}}]";

/* ---- the tests ----------------------------------------------------------------------- */

static micro_model *model_at(const char *key) {
    char settings[256];
    snprintf(settings, sizeof settings,
             "{\"provider\": \"openai\", \"model\": \"test-model\", \"api_key\": \"%s\", "
             "\"base_url\": \"http://127.0.0.1:%d\"}", key, provider.port);
    micro_model *model = NULL;
    ST(MICRO_OK, micro_model_new(settings, &model, &err));
    return model;
}

/* Pulls every event of `stream` into one string, a line each, and frees the stream. */
static char *drain(micro_ai_stream *stream) {
    char *all = NULL, *event = NULL;
    size_t len = 0;
    append(&all, &len, "%s", "");
    int32_t status;
    while ((status = micro_ai_stream_next(stream, &event, NULL)) == MICRO_OK) {
        append(&all, &len, "%s\n", event);
        micro_string_free(event);
    }
    CHECK(status == MICRO_EOF && event == NULL);
    CHECK(micro_ai_stream_next(stream, &event, NULL) == MICRO_EOF); /* the end stays the end */
    micro_ai_stream_free(stream);
    return all;
}

static void test_model(micro_model *model) {
    script((reply){.text = "Hello from C."});
    char *response = NULL;
    ST(MICRO_OK, micro_model_generate(model, "{\"prompt\": \"Say hello\", \"system\": \"Be brief.\"}",
                                      &response, &err));
    CHECK(strstr(response, "\"text\":\"Hello from C.\"") != NULL);
    CHECK(strstr(response, "\"usage\":{\"input_tokens\":11,\"output_tokens\":7}") != NULL);
    micro_string_free(response);
    const char *request = seen(requests() - 1);
    CHECK(strncmp(request, "/v1/chat/completions\nBearer " KEY "\n", 29 + strlen(KEY)) == 0);
    CHECK(strstr(request, "\"model\":\"test-model\"") && strstr(request, "Be brief.") &&
          strstr(request, "Say hello"));

    script((reply){.text = "One two three."});
    micro_ai_stream *stream = NULL;
    ST(MICRO_OK, micro_model_stream(model, "{\"prompt\": \"Count\"}", &stream, &err));
    char *events = drain(stream);
    CHECK(strstr(events, "{\"type\":\"text\",\"text\":\"One \"}\n{\"type\":\"text\",\"text\":\"two \"}\n"
                         "{\"type\":\"text\",\"text\":\"three.\"}\n{\"type\":\"done\"") == events);
    CHECK(strstr(events, "\"text\":\"One two three.\"") != NULL);
    free(events);
}

static void test_tool_round_trip(micro_model *model) {
    micro_agent *agent = NULL;
    ST(MICRO_OK, micro_agent_new(model, adder, add, NULL, "{\"max_steps\": 4}", &agent, &err));

    /* whole */
    int before = requests();
    script((reply){.tool = "add", .arguments = "{\"a\":2,\"b\":3}"});
    script((reply){.text = "The sum is 5."});
    char *response = NULL;
    ST(MICRO_OK, micro_agent_generate(agent, "{\"prompt\": \"What is 2+3?\"}", &response, &err));
    CHECK(strstr(response, "\"text\":\"The sum is 5.\"") != NULL);
    CHECK(strstr(response, "\"tool_calls\":[{\"id\":\"call_0\",\"name\":\"add\",\"arguments\":"
                           "{\"a\":2,\"b\":3},\"result\":{\"sum\":5}}]") != NULL);
    CHECK(strstr(response, "\"usage\":{\"input_tokens\":22,\"output_tokens\":14}") != NULL);
    micro_string_free(response);
    CHECK(added.calls == 1);
    CHECK(strcmp(added.last, "{\"id\":\"call_0\",\"name\":\"add\",\"arguments\":{\"a\":2,\"b\":3}}") == 0);
    CHECK(requests() == before + 2);
    /* the tool was offered, and its result went back to the model with the call's id */
    CHECK(strstr(seen(before), "\"name\":\"add\"") && strstr(seen(before), "Adds a and b."));
    CHECK(strstr(seen(before + 1), "\"role\":\"tool\"") && strstr(seen(before + 1), "\"tool_call_id\":\"call_0\"") &&
          strstr(seen(before + 1), "{\\\"sum\\\":5}") && strstr(seen(before + 1), "What is 2+3?"));

    /* streamed: the call, its result, the answer's words, the end */
    script((reply){.tool = "add", .arguments = "{\"a\":4,\"b\":5}"});
    script((reply){.text = "It is 9."});
    micro_ai_stream *stream = NULL;
    ST(MICRO_OK, micro_agent_stream(agent, "{\"prompt\": \"What is 4+5?\"}", &stream, &err));
    micro_agent_free(agent); /* the stream keeps what it needs */
    char *events = drain(stream);
    const char *want =
        "{\"type\":\"tool_call\",\"call\":{\"id\":\"call_0\",\"name\":\"add\",\"arguments\":{\"a\":4,\"b\":5}}}\n"
        "{\"type\":\"tool_result\",\"call\":{\"id\":\"call_0\",\"name\":\"add\",\"arguments\":{\"a\":4,\"b\":5},"
        "\"result\":{\"sum\":9}}}\n"
        "{\"type\":\"text\",\"text\":\"It \"}\n{\"type\":\"text\",\"text\":\"is \"}\n"
        "{\"type\":\"text\",\"text\":\"9.\"}\n{\"type\":\"done\",\"response\":{\"text\":\"It is 9.\"";
    CHECK(strncmp(events, want, strlen(want)) == 0);
    free(events);
    CHECK(added.calls == 2);
}

static void test_handler_error(micro_model *model) {
    micro_agent *agent = NULL;
    ST(MICRO_OK, micro_agent_new(model, adder, broken, NULL, NULL, &agent, &err));
    int before = requests();
    script((reply){.tool = "add", .arguments = "{\"a\":1,\"b\":1}"});
    script((reply){.text = "The calculator is broken."});
    char *response = NULL;
    ST(MICRO_OK, micro_agent_generate(agent, "{\"prompt\": \"1+1?\"}", &response, &err));
    CHECK(strstr(response, "\"error\":\"the calculator is broken\"") != NULL);
    micro_string_free(response);
    /* the model is told */
    CHECK(strstr(seen(before + 1), "{\\\"error\\\":\\\"the calculator is broken\\\"}") != NULL);

    micro_agent_free(agent);

    /* a tool the model names that was not offered does not reach the handler */
    int calls = added.calls;
    ST(MICRO_OK, micro_agent_new(model, adder, add, NULL, NULL, &agent, &err));
    script((reply){.tool = "rm_rf", .arguments = "{}"});
    script((reply){.text = "No such tool."});
    ST(MICRO_OK, micro_agent_generate(agent, "{\"prompt\": \"Delete\"}", &response, &err));
    CHECK(strstr(response, "there is no tool \\\"rm_rf\\\"") != NULL && added.calls == calls);
    micro_string_free(response);
    micro_agent_free(agent);
}

static void test_registry_tools(micro_model *model) {
    micro_service *svc = NULL;
    ST(MICRO_OK, micro_service_new("calc", NULL, &svc, &err));
    ST(MICRO_OK, micro_service_handle(svc, "Calc.Add", add, NULL, &err));
    ST(MICRO_OK, micro_service_describe(svc, "Calc.Add", "Adds a and b", "{\"a\": 1, \"b\": 2}", &err));
    ST(MICRO_OK, micro_service_start(svc, &err));

    /* run by the client: the service answers */
    micro_agent *agent = NULL;
    ST(MICRO_OK, micro_agent_new(model, NULL, NULL, NULL, NULL, &agent, &err));
    int before = requests(), calls = added.calls;
    script((reply){.tool = "calc_Calc_Add", .arguments = "{\"a\":20,\"b\":22}"});
    script((reply){.text = "42."});
    char *response = NULL;
    ST(MICRO_OK, micro_agent_generate(agent, "{\"prompt\": \"20+22?\"}", &response, &err));
    CHECK(strstr(response, "\"result\":{\"sum\":42}") != NULL && added.calls == calls + 1);
    micro_string_free(response);
    CHECK(strstr(seen(before), "\"name\":\"calc_Calc_Add\"") != NULL);
    micro_agent_free(agent);

    /* the same tools run by a handler instead (pattern 4): the service is not called */
    ST(MICRO_OK, micro_agent_new(model, "", broken, NULL, NULL, &agent, &err));
    script((reply){.tool = "calc_Calc_Add", .arguments = "{\"a\":1,\"b\":2}"});
    script((reply){.text = "Broken."});
    ST(MICRO_OK, micro_agent_generate(agent, "{\"prompt\": \"1+2?\"}", &response, &err));
    CHECK(strstr(response, "the calculator is broken") != NULL && added.calls == calls + 1);
    micro_string_free(response);
    micro_agent_free(agent);

    ST(MICRO_OK, micro_service_stop(svc, &err));
    micro_service_free(svc);
}

static void test_refused_key(void) {
    micro_model *model = model_at("sk-wrong");
    micro_error *err = NULL;
    char *response = NULL;
    script((reply){.status = 401});
    CHECK(micro_model_generate(model, "{\"prompt\": \"Hi\"}", &response, &err) == 401);
    CHECK(response == NULL && err->code == 401 && strcmp(err->kind, "unauthorized") == 0);
    CHECK(strstr(err->detail, "openai refused the key (401)") && strstr(err->detail, "invalid api key") &&
          strstr(err->detail, "OPENAI_API_KEY") && !strstr(err->message, "sk-wrong"));
    micro_error_free(err);

    /* streamed, the first pull says so */
    micro_ai_stream *stream = NULL;
    ST(MICRO_OK, micro_model_stream(model, "{\"prompt\": \"Hi\"}", &stream, &err));
    script((reply){.status = 401});
    char *event = NULL;
    err = NULL;
    CHECK(micro_ai_stream_next(stream, &event, &err) == 401 && event == NULL);
    CHECK(strcmp(err->kind, "unauthorized") == 0 && strstr(err->detail, "refused the key"));
    micro_error_free(err);
    CHECK(micro_ai_stream_next(stream, &event, NULL) == MICRO_EOF);
    micro_ai_stream_free(stream);
    micro_model_free(model);
}

static void *cancel_soon(void *stream) {
    usleep(200 * 1000);
    micro_ai_stream_cancel(stream, NULL);
    return NULL;
}

static void test_cancel(micro_model *model) {
    /* cancelled while waiting for a provider that takes its time */
    script((reply){.text = "Too late.", .pause_ms = 1500});
    micro_ai_stream *stream = NULL;
    ST(MICRO_OK, micro_model_stream(model, "{\"prompt\": \"Slowly\"}", &stream, &err));
    pthread_t thread;
    pthread_create(&thread, NULL, cancel_soon, stream);
    char *event = NULL;
    micro_error *err = NULL;
    CHECK(micro_ai_stream_next(stream, &event, &err) == 408);
    CHECK(strcmp(err->kind, "timeout") == 0 && strstr(err->detail, "cancelled"));
    micro_error_free(err);
    pthread_join(thread, NULL);
    CHECK(micro_ai_stream_next(stream, &event, NULL) == MICRO_EOF);
    ST(MICRO_OK, micro_ai_stream_cancel(stream, &err)); /* again: nothing happens */
    micro_ai_stream_free(stream);

    /* an agent's stream freed before its end stops the loop: the tool asked for never runs */
    micro_agent *agent = NULL;
    ST(MICRO_OK, micro_agent_new(model, adder, add, NULL, NULL, &agent, &err));
    int calls = added.calls, before = requests();
    script((reply){.tool = "add", .arguments = "{\"a\":1,\"b\":1}"});
    ST(MICRO_OK, micro_agent_stream(agent, "{\"prompt\": \"1+1?\"}", &stream, &err));
    micro_ai_stream_free(stream);
    micro_agent_free(agent);
    for (int i = 0; i < 500 && requests() < before + 1; i++) usleep(10 * 1000);
    usleep(300 * 1000);
    CHECK(requests() == before + 1 && added.calls == calls);
}

static void test_misuse(micro_model *model) {
    micro_model *none = NULL;
    micro_agent *agent = NULL;
    micro_ai_stream *stream = NULL;
    char *text = NULL;
    const char bad_utf8[] = {'{', (char)0xff, '}', 0};
    ST(MICRO_ERR_NULL_ARGUMENT, micro_model_new(NULL, NULL, &err));
    ST(MICRO_ERR_INVALID_JSON, micro_model_new("{\"provider\": 7}", &none, &err));
    ST(MICRO_ERR_INVALID_UTF8, micro_model_new(bad_utf8, &none, &err));
    micro_error *err = NULL;
    CHECK(micro_model_new("{\"provider\": \"nope\"}", &none, &err) == 400);
    CHECK(none == NULL && strstr(err->detail, "unknown AI provider \"nope\"") &&
          strstr(err->detail, "anthropic, openai"));
    micro_error_free(err);
    err = NULL;
    CHECK(micro_model_new("{\"provider\": \"mistral\"}", &none, &err) == 400);
    CHECK(strstr(err->detail, "MISTRAL_API_KEY") != NULL);
    micro_error_free(err);
    ST(MICRO_ERR_NULL_ARGUMENT, micro_model_generate(NULL, "{}", &text, &err));
    ST(MICRO_ERR_NULL_ARGUMENT, micro_model_generate(model, NULL, &text, &err));
    ST(MICRO_ERR_NULL_ARGUMENT, micro_model_generate(model, "{}", NULL, &err));
    ST(MICRO_ERR_INVALID_JSON, micro_model_generate(model, "{\"prompt\": 1}", &text, &err));
    ST(MICRO_ERR_INVALID_JSON, micro_model_stream(model, "[", &stream, &err));
    ST(MICRO_ERR_NULL_ARGUMENT, micro_agent_new(model, adder, NULL, NULL, NULL, &agent, &err));
    ST(MICRO_ERR_INVALID_JSON, micro_agent_new(model, "{\"name\": \"add\"}", add, NULL, NULL, &agent, &err));
    ST(MICRO_ERR_INVALID_JSON, micro_agent_new(model, adder, add, NULL, "{\"steps\": 1}", &agent, &err));
    ST(MICRO_ERR_NULL_ARGUMENT, micro_agent_new(NULL, adder, add, NULL, NULL, &agent, &err));
    ST(MICRO_ERR_NULL_ARGUMENT, micro_agent_stream(NULL, "{}", &stream, &err));
    ST(MICRO_ERR_NULL_ARGUMENT, micro_ai_stream_next(NULL, &text, &err));
    ST(MICRO_ERR_NULL_ARGUMENT, micro_ai_stream_cancel(NULL, &err));
    CHECK(agent == NULL && stream == NULL && text == NULL);
    micro_model_free(NULL);
    micro_agent_free(NULL);
    micro_ai_stream_free(NULL);
}

int main(void) {
    /* the settings below are all there is */
    unsetenv("MICRO_AI_API_KEY");
    unsetenv("MICRO_AI_BASE_URL");
    unsetenv("MISTRAL_API_KEY");
    ST(MICRO_OK, micro_runtime_start("{\"registry\": \"memory\", \"broker\": \"memory\", "
                                     "\"store\": \"memory\", \"worker_threads\": 2}", &err));
    provider_start();
    micro_model *model = model_at(KEY);
    test_model(model);
    test_tool_round_trip(model);
    test_handler_error(model);
    test_registry_tools(model);
    test_refused_key();
    test_cancel(model);
    test_misuse(model);
    micro_model_free(model);
    ST(MICRO_OK, micro_runtime_shutdown(&err));
    provider_stop();
    printf("test_ai: %d checks passed\n", checks);
    return 0;
}
