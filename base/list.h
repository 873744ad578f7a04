/*
 * list.h - an intrusive circular doubly-linked list (the shape of libuv's
 * queue.h).
 *
 * A list is a grove_list_t head; an element embeds a grove_list_t link and
 * is recovered from it with GROVE_LIST_ENTRY (container_of).  The list
 * allocates nothing and owns nothing: the caller owns the elements and must
 * remove an element before freeing it.  An empty list, and an element that
 * is on no list, link to themselves, so removing twice is harmless.
 * Every operation is O(1).
 */
#ifndef GROVE_LIST_H
#define GROVE_LIST_H

#include <stdbool.h>
#include <stddef.h>

typedef struct grove_list {
	struct grove_list *next, *prev;
} grove_list_t;

/* The element of type `type` whose member `field` is the link `link`. */
#define GROVE_LIST_ENTRY(link, type, field) ((type *)((char *)(link) - offsetof(type, field)))

/* Visits every link of head in order; the body may remove (and free) the
 * element of `link`, using `tmp` to hold the next one. */
#define GROVE_LIST_FOREACH_SAFE(link, tmp, head)                                  \
	for ((link) = (head)->next, (tmp) = (link)->next; (link) != (head); \
	     (link) = (tmp), (tmp) = (link)->next)

static inline void grove_list_init(grove_list_t *l)
{
	l->next = l;
	l->prev = l;
}

static inline bool grove_list_empty(const grove_list_t *head)
{
	return head->next == head;
}

/* Inserts link first (just after head). */
static inline void grove_list_insert_head(grove_list_t *head, grove_list_t *link)
{
	link->next = head->next;
	link->prev = head;
	head->next->prev = link;
	head->next = link;
}

/* Inserts link last (just before head). */
static inline void grove_list_insert_tail(grove_list_t *head, grove_list_t *link)
{
	link->prev = head->prev;
	link->next = head;
	head->prev->next = link;
	head->prev = link;
}

/* Unlinks link from its list; link is left on no list. */
static inline void grove_list_remove(grove_list_t *link)
{
	link->prev->next = link->next;
	link->next->prev = link->prev;
	grove_list_init(link);
}

#endif
