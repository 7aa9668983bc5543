/* floe simulator: the event queue, a binary min-heap on (time, insertion number).
 *
 * The insertion number makes the order total: two events due at the same instant run in
 * the order they were queued, whatever the heap's shape. Each event remembers its
 * position so that timers can be moved or cancelled in O(log n). */
#include "sim_internal.h"

#include "floe/err.h"

static bool before(const sim_event *a, const sim_event *b) {
    return a->at < b->at || (a->at == b->at && a->seq < b->seq);
}

static void place(floe_sim *sim, size_t i, sim_event *ev) {
    sim->heap[i] = ev;
    ev->pos = i;
}

static void sift_up(floe_sim *sim, size_t i) {
    sim_event *ev = sim->heap[i];
    while (i > 0) {
        size_t parent = (i - 1) / 2;
        if (!before(ev, sim->heap[parent])) break;
        place(sim, i, sim->heap[parent]);
        i = parent;
    }
    place(sim, i, ev);
}

static void sift_down(floe_sim *sim, size_t i) {
    sim_event *ev = sim->heap[i];
    size_t n = sim->heap_len;
    for (;;) {
        size_t child = 2 * i + 1;
        if (child >= n) break;
        if (child + 1 < n && before(sim->heap[child + 1], sim->heap[child])) child++;
        if (!before(sim->heap[child], ev)) break;
        place(sim, i, sim->heap[child]);
        i = child;
    }
    place(sim, i, ev);
}

int sim_heap_push(floe_sim *sim, sim_event *ev) {
    if (sim->heap_len >= sim->cfg.max_events) return FLOE_ERR_LIMIT;
    ev->seq = sim->seq++;
    size_t i = sim->heap_len++;
    place(sim, i, ev);
    sift_up(sim, i);
    return FLOE_OK;
}

static void remove_at(floe_sim *sim, size_t i) {
    sim_event *gone = sim->heap[i];
    gone->pos = SIM_NOT_QUEUED;
    size_t last = --sim->heap_len;
    if (i == last) return;
    place(sim, i, sim->heap[last]);
    if (i > 0 && before(sim->heap[i], sim->heap[(i - 1) / 2]))
        sift_up(sim, i);
    else
        sift_down(sim, i);
}

sim_event *sim_heap_pop(floe_sim *sim) {
    if (sim->heap_len == 0) return NULL;
    sim_event *ev = sim->heap[0];
    remove_at(sim, 0);
    return ev;
}

void sim_heap_remove(floe_sim *sim, sim_event *ev) {
    if (ev->pos == SIM_NOT_QUEUED || ev->pos >= sim->heap_len || sim->heap[ev->pos] != ev) return;
    remove_at(sim, ev->pos);
}
