/* demo_data.c: the sample campaign of `jury demo`: 200 customer-support messages with a model's
 * draft reply each, built from scenarios written for jury. */
#include "demo.h"

#include <stdio.h>
#include <string.h>

const char jury_demo_settings[] =
    "{\n"
    "  \"guidelines\": \"## Your task\\n\\nEach record is a message a customer sent to the "
    "support team of a small outdoor-gear shop, with the account context support can see and "
    "a reply drafted by our support model. Edit the draft in **Corrected reply** until you "
    "would send it yourself, then rate the **original draft** in **Draft quality**.\\n\\n"
    "## A good reply\\n\\n- answers the question asked, in the first two sentences;\\n- uses "
    "only facts from the message or the context: never invent order states, dates or "
    "policies;\\n- says what happens next;\\n- is polite and plain.\\n\\n## Rating the "
    "draft\\n\\n5: send as is. 4: small wording fixes. 3: right answer, real edits. 2: wrong or "
    "missing key facts. 1: harmful, false or rude.\",\n"
    "  \"fields\": [\n"
    "    {\"name\": \"instruction\", \"title\": \"Customer message\", \"type\": \"text\"},\n"
    "    {\"name\": \"context\", \"title\": \"What support can see\", \"type\": \"text\", "
    "\"required\": false}\n"
    "  ],\n"
    "  \"questions\": [\n"
    "    {\"name\": \"response\", \"title\": \"Corrected reply\", \"type\": \"text\", "
    "\"use_markdown\": true,\n"
    "     \"description\": \"The model's draft is filled in. Correct it until you would send "
    "it.\"},\n"
    "    {\"name\": \"quality\", \"title\": \"Draft quality\", \"type\": \"rating\", "
    "\"values\": [1, 2, 3, 4, 5],\n"
    "     \"description\": \"Rate the original draft: 1 harmful or false, 5 send as is.\"}\n"
    "  ],\n"
    "  \"metadata\": [\n"
    "    {\"name\": \"category\", \"title\": \"Ticket category\", \"type\": \"terms\",\n"
    "     \"options\": [\"billing\", \"shipping\", \"returns\", \"product\", \"account\", "
    "\"technical\", \"other\"]},\n"
    "    {\"name\": \"draft_quality\", \"title\": \"Reviewer's rating of the draft\", \"type\": "
    "\"integer\",\n"
    "     \"min\": 1, \"max\": 5, \"visible_for_annotators\": false}\n"
    "  ],\n"
    "  \"distribution\": {\"min_submitted\": 3},\n"
    "  \"consolidation\": {\n"
    "    \"methods\": {\"response\": \"medoid\", \"quality\": \"mean\"},\n"
    "    \"accept\": {\"min_agreement\": {\"response\": 0.7}}\n"
    "  }\n"
    "}\n";

/*
 * Each scenario is a kind of ticket a small outdoor-gear shop gets, with two
 * drafts a support model might write: one that is nearly right and one with
 * a real flaw (a made-up fact, a missed question, a wrong policy). The gold
 * quality is what a careful reviewer would rate the draft (1..5); simulated
 * annotators read it from the hidden metadata property `draft_quality`.
 * In the texts, {P} is a product, {O} an order number, {N} a customer's
 * first name and {A} an amount.
 */
typedef struct {
    const char *category; /* metadata category */
    const char *message;  /* the customer's message */
    const char *context;  /* what support can see about the account */
    const char *good;     /* a draft that needs little editing */
    int good_quality;     /* its gold rating */
    const char *flawed;   /* a draft with a real problem */
    int flawed_quality;   /* its gold rating */
} scenario_t;

static const scenario_t s_scenarios[] = {
    {"shipping",
     "Hi, my order {O} with the {P} still says \"label created\" after four days. Has it "
     "actually shipped? I need it for a trip on Saturday.",
     "Order {O}: packed, waiting for carrier pickup. Standard shipping, 2-4 working days after "
     "pickup.",
     "Hi {N}, sorry for the wait. Your order {O} is packed and waiting for the carrier to pick "
     "it up, which is why tracking hasn't moved. Standard delivery takes 2-4 working days after "
     "pickup, so I can't promise Saturday. Reply here and I'll upgrade you to express at no "
     "cost.",
     4,
     "Hi {N}, your order {O} shipped yesterday and will arrive before Saturday. Have a great "
     "trip!",
     1},
    {"billing", "I was charged twice for order {O} ({A} each). Can you refund one of the charges?",
     "Order {O}: two captures of {A}; the second was a retry after a gateway timeout. Refunds "
     "allowed for duplicate captures.",
     "Hi {N}, you're right: the payment for order {O} was taken twice because of a retry on our "
     "side. I've refunded the second charge of {A}; it will be back on your card within 5-10 "
     "working days. Sorry for the trouble.",
     5,
     "Hi {N}, thanks for reaching out. Duplicate charges are usually a pending authorisation "
     "that disappears by itself. Please wait a few days and contact your bank if it stays.",
     2},
    {"returns", "The {P} I bought is too small. Can I exchange it for the next size up?",
     "Order {O}, delivered 9 days ago. Exchanges free within 30 days; next size in stock.",
     "Hi {N}, of course. You're within the 30-day window, and the next size is in stock. I've "
     "emailed you a free return label for order {O}; once we scan the parcel we'll send the new "
     "size right away.",
     5,
     "Hi {N}, exchanges are possible within 14 days of delivery. Please send the {P} back to us "
     "and place a new order for the size you need.",
     2},
    {"product", "Is the {P} waterproof or just water resistant? I'm hiking in Scotland in October.",
     "{P}: rated water resistant (DWR coating), seams not taped. Waterproof model: the Storm "
     "line.",
     "Hi {N}, the {P} is water resistant: it sheds showers, but its seams aren't taped, so it "
     "won't keep you dry in hours of Scottish rain. For October I'd look at our Storm line, "
     "which is fully waterproof.",
     4, "Hi {N}, yes, the {P} is fully waterproof and perfect for Scotland in October.", 1},
    {"account", "I can't log in: the password reset email never arrives. I've checked spam.",
     "Account for {N}: email verified; 3 reset emails sent today, all bounced (mailbox full).",
     "Hi {N}, I looked into it: our reset emails reach your provider but bounce back because the "
     "mailbox is full. Once you free some space, use \"Forgot password\" again and the email "
     "should arrive within a minute.",
     5,
     "Hi {N}, please check your spam folder and try again later. Reset emails can take up to 24 "
     "hours.",
     2},
    {"shipping",
     "My parcel for order {O} was delivered to the wrong address according to the tracking "
     "photo. What now?",
     "Order {O}: marked delivered; photo shows a different house number. Carrier claim possible "
     "within 7 days.",
     "Hi {N}, I'm sorry, the photo clearly shows another door. I've opened a claim with the "
     "carrier and sent a replacement {P} by express today, so you don't have to wait for the "
     "claim. You'll get a new tracking number by email.",
     4,
     "Hi {N}, the tracking shows your order {O} as delivered, so it has arrived. Please check "
     "with your neighbours.",
     1},
    {"billing", "Why was I charged {A} for shipping? Your site says shipping is free.",
     "Order {O}: total below the free-shipping threshold of 50.00 after a discount code.",
     "Hi {N}, shipping is free on orders of 50.00 or more. Your order {O} dropped just below "
     "that after the discount code was applied, so the {A} shipping fee was added. As a "
     "one-off, I've refunded it.",
     4, "Hi {N}, the shipping fee was charged by mistake and I've refunded it. Sorry!", 3},
    {"returns", "I returned the {P} two weeks ago and still have no refund. Order {O}.",
     "Order {O}: return received 3 days ago, inspection pending. Refunds within 5 working days "
     "of receipt.",
     "Hi {N}, thanks for your patience. The {P} reached our warehouse three days ago and is "
     "being checked. Refunds go out within 5 working days of arrival, so expect it by early "
     "next week. I'll keep an eye on it.",
     5, "Hi {N}, we have not received your return yet. Please send us the tracking number.", 1},
    {"product",
     "What's the difference between the {P} and the Pro version? Is the Pro worth it for "
     "weekend camping?",
     "{P}: 2.1 kg, 3-season. Pro: 1.4 kg, 3-season, same floor area, 40% more expensive.",
     "Hi {N}, both are 3-season and have the same floor space; the Pro is mainly lighter (1.4 kg "
     "instead of 2.1 kg) and costs about 40% more. For weekend trips where you don't carry it "
     "far, the standard {P} is the better buy.",
     5, "Hi {N}, the Pro is better in every way and definitely worth it.", 2},
    {"account", "Please delete my account and all my data.",
     "Account for {N}: no open orders. Deletion allowed; order records kept 6 years for tax "
     "law.",
     "Hi {N}, I've started the deletion of your account; it will be complete within 30 days and "
     "you'll get a confirmation email. By law we must keep records of past orders for tax "
     "purposes, but they're no longer linked to a login or used for marketing.",
     4, "Hi {N}, your account and all your data have been deleted.", 2},
    {"shipping",
     "Can I change the delivery address for order {O}? I'll be at my parents' place next "
     "week.",
     "Order {O}: not yet shipped. Address changes possible until shipping.",
     "Hi {N}, yes, order {O} hasn't shipped yet, so I can change the address. Please reply with "
     "the full new address and I'll update it before it leaves the warehouse.",
     5, "Hi {N}, unfortunately addresses cannot be changed once an order is placed.", 1},
    {"billing", "I used the code WELCOME10 but the discount wasn't applied to order {O}.",
     "Order {O}: WELCOME10 valid for first orders only; this is the customer's third order.",
     "Hi {N}, WELCOME10 is only valid on a first order, and order {O} is your third with us, so "
     "it wasn't applied. I'm sorry for the confusion; I've added a 10% code for your next order "
     "to your account as a thank-you.",
     4, "Hi {N}, I've applied the WELCOME10 discount and refunded {A}.", 2},
    {"returns", "The zip on my {P} broke after two weeks. Is that covered?",
     "Order {O}: delivered 16 days ago. 2-year warranty on manufacturing defects.",
     "Hi {N}, a zip failing after two weeks is a defect, and it's covered by our 2-year "
     "warranty. Send us a photo of the zip and I'll arrange a free repair or a replacement, "
     "whichever you prefer.",
     5, "Hi {N}, zips are wear parts and are not covered by the warranty.", 1},
    {"product", "Does the {P} come with a warranty? And can I buy spare parts?",
     "{P}: 2-year warranty; spare parts sold in the Repair section of the shop.",
     "Hi {N}, the {P} has a 2-year warranty against defects, and we sell spare parts in the "
     "Repair section of our shop.",
     4,
     "Hi {N}, thanks for your interest in the {P}! Let us know if you have any other "
     "questions.",
     2},
    {"technical", "The app crashes every time I open my order history.",
     "App 4.2.0: known crash in order history on Android 14, fixed in 4.2.1 (released today).",
     "Hi {N}, sorry about that: it's a known bug in version 4.2.0 on Android 14. Version 4.2.1, "
     "out today, fixes it; updating the app from the Play Store should solve it.",
     5, "Hi {N}, please uninstall and reinstall the app, and restart your phone.", 2},
    {"technical", "I can't check out: the payment page just spins forever.",
     "Payments: provider incident 09:10-09:40 today, resolved. Customer tried at 09:25.",
     "Hi {N}, our payment provider had an outage this morning, right when you tried. It was "
     "fixed at 09:40, so checkout should work again now. Your basket is saved.",
     5,
     "Hi {N}, the problem is probably your browser. Please clear your cache and try another "
     "browser.",
     2},
    {"shipping", "Do you ship the {P} to Norway, and will I have to pay customs?",
     "Shipping to Norway available; customs and VAT collected by the carrier on delivery.",
     "Hi {N}, yes, we ship to Norway. Import VAT and any duties are collected by the carrier "
     "when the parcel arrives, so expect to pay those on delivery.",
     4, "Hi {N}, yes, we ship to Norway and there are no extra costs.", 1},
    {"account", "How do I change the email address on my account?",
     "Email changes: Account > Settings > Email; confirmation sent to both addresses.",
     "Hi {N}, go to Account, then Settings, then Email, and enter the new address. We'll send a "
     "confirmation link to both your old and new address; the change takes effect once you "
     "click it.",
     5, "Hi {N}, I can't change your email for security reasons.", 1},
    {"other", "Do you have a physical shop where I can try the {P} on?",
     "No shops; free returns within 30 days; pop-up at the Outdoor Fair next month.",
     "Hi {N}, we don't have shops, but returns are free within 30 days, so you can try the {P} "
     "at home. We'll also have a stand at the Outdoor Fair next month if you'd like to see it "
     "in person.",
     5, "Hi {N}, our flagship store is open every day from 9 to 6.", 1},
    {"other", "I'd like to buy 15 {P}s for my scout group. Is there a group discount?",
     "Group orders of 10+ items: 15% off via the sales team (sales@example.org).",
     "Hi {N}, yes: orders of 10 or more items get 15% off. Our sales team handles them; write to "
     "sales@example.org with the sizes you need and they'll send a quote.",
     4, "Hi {N}, we don't offer discounts for large orders.", 1},
};

#define NSCENARIOS (sizeof s_scenarios / sizeof s_scenarios[0])

static const char *const s_products[] = {
    "Ridge 40 backpack",  "Fjell rain jacket", "Tarn 2 tent",    "Summit down vest",
    "Trail runner shoes", "Birch fleece",      "Lumen headlamp", "Cairn trekking poles",
    "Nordic base layer",  "Glen sleeping bag",
};
static const char *const s_names[] = {"Ana",  "Ben",   "Chen", "Dara",  "Elif", "Femi",
                                      "Gita", "Hamid", "Ines", "Jonas", "Kofi", "Lena"};

/* Appends template t to out, replacing {P} {O} {N} {A}. */
static void s_fill(char *out, size_t cap, const char *t, int i)
{
    char order[16], amount[16];
    snprintf(order, sizeof order, "NW-%05d", 20417 + i * 37);
    snprintf(amount, sizeof amount, "%d.%02d", 18 + (i * 7) % 60, (i * 13) % 100);
    const char *product = s_products[(i / (int)NSCENARIOS) % 10];
    const char *name = s_names[i % 12];
    size_t o = 0;
    for (const char *p = t; *p && o + 1 < cap;) {
        const char *rep = NULL;
        if (p[0] == '{' && p[1] && p[2] == '}') {
            rep = p[1] == 'P'   ? product
                  : p[1] == 'O' ? order
                  : p[1] == 'N' ? name
                  : p[1] == 'A' ? amount
                                : NULL;
        }
        if (rep) {
            size_t n = strlen(rep);
            if (o + n >= cap)
                break;
            memcpy(out + o, rep, n);
            o += n;
            p += 3;
        } else {
            out[o++] = *p++;
        }
    }
    out[o] = '\0';
}

size_t jury_demo_record_count(void)
{
    return JURY_DEMO_RECORDS;
}

bool jury_demo_record(size_t i, jury_demo_record_t *out)
{
    if (i >= JURY_DEMO_RECORDS)
        return false;
    const scenario_t *sc = &s_scenarios[i % NSCENARIOS];
    /* Alternate good and flawed drafts, shifted per product so each scenario gets both. */
    bool flawed = ((i / NSCENARIOS) + i) % 3 == 0;
    snprintf(out->id, sizeof out->id, "ticket-%04zu", i + 1);
    out->category = sc->category;
    s_fill(out->message, sizeof out->message, sc->message, (int)i);
    s_fill(out->context, sizeof out->context, sc->context, (int)i);
    s_fill(out->draft, sizeof out->draft, flawed ? sc->flawed : sc->good, (int)i);
    out->draft_quality = flawed ? sc->flawed_quality : sc->good_quality;
    return true;
}
